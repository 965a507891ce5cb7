"""Progress a person can read: after each job of the workflow, one line per rule family with the runs
done, the runs planned and an estimate of the time left.

``Plan.write_progress`` (called when the workflow starts) saves the planned record files of each
family and the start time in ``.snakemake/sdo-bench-progress.json``; ``sdo-bench progress`` (run after
every run, sweep and cost job) counts the files that exist. Imports nothing heavy: it runs ~90 times.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

PLAN_FILE = Path(".snakemake") / "sdo-bench-progress.json"


def write_plan(families: dict[str, list[str]], path: Path = PLAN_FILE) -> None:
    """The plan, written atomically (a job reading it never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"start": time.time(), "families": families}))
    os.replace(tmp, path)


def _plan(path: Path) -> dict | None:
    """The saved plan; None where there is none. A damaged or mistyped one is started again, with one
    line of warning: progress is a courtesy and never fails the job that asks for it."""
    if not path.is_file():
        return None
    try:
        plan = json.loads(path.read_text())
        ok = (
            isinstance(plan, dict)
            and isinstance(plan.get("start"), (int, float))
            and isinstance(plan.get("families"), dict)
            and all(
                isinstance(v, list) and all(isinstance(f, str) for f in v) for v in plan["families"].values()
            )
        )
    except (OSError, ValueError):
        ok = False
    if ok:
        return plan
    print(f"sdo-bench progress: warning: {path} was damaged; started a new one", file=sys.stderr)
    try:
        write_plan({}, path)
    except OSError:
        return None
    return _plan(path)


def state(family: str, path: Path = PLAN_FILE) -> dict:
    """``sdo-bench progress FAMILY --json``: records done and planned, seconds so far and left (None
    where unknown)."""
    plan = _plan(path)
    if plan is None:
        return {"family": family, "plan": str(path), "done": None, "planned": None}
    files = plan["families"].get(family, [])
    done = sum(Path(f).is_file() for f in files)
    elapsed = time.time() - plan["start"]
    left = elapsed * (len(files) - done) / done if 0 < done else None
    return {"family": family, "plan": str(path), "done": done, "planned": len(files), "elapsed_s": elapsed,
            "left_s": left}  # fmt: skip


def line(family: str, path: Path = PLAN_FILE) -> str:
    """``runs: 120/355 records (34%), 6 min 10 s so far, about 12 min left for runs``."""
    plan = _plan(path)
    if plan is None:
        return f"{family}: (no progress plan at {path})"
    files = plan["families"].get(family, [])
    done = sum(Path(f).is_file() for f in files)
    elapsed = time.time() - plan["start"]
    share = 100 * done / max(len(files), 1)
    text = f"{family}: {done}/{len(files)} records ({share:.0f}%), {_t(elapsed)} so far"
    if 0 < done < len(files):
        text += f", about {_t(elapsed * (len(files) - done) / done)} left for {family}"
    return text


def _t(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"
