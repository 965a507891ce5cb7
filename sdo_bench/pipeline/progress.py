"""Progress a person can read: after each job of the workflow, one line per rule family with the runs
done, the runs planned and an estimate of the time left.

``Plan.write_progress`` (called when the workflow starts) saves the planned record files of each
family and the start time in ``.snakemake/sdo-bench-progress.json``; ``sdo-bench progress`` (run after
every run, sweep and cost job) counts the files that exist. Imports nothing heavy: it runs ~90 times.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

PLAN_FILE = Path(".snakemake") / "sdo-bench-progress.json"


def write_plan(families: dict[str, list[str]], path: Path = PLAN_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"start": time.time(), "families": families}))


def state(family: str, path: Path = PLAN_FILE) -> dict:
    """``sdo-bench progress FAMILY --json``: records done and planned, seconds so far and left (None
    where unknown)."""
    if not path.is_file():
        return {"family": family, "plan": str(path), "done": None, "planned": None}
    plan = json.loads(path.read_text())
    files = plan["families"].get(family, [])
    done = sum(Path(f).is_file() for f in files)
    elapsed = time.time() - plan["start"]
    left = elapsed * (len(files) - done) / done if 0 < done else None
    return {"family": family, "plan": str(path), "done": done, "planned": len(files), "elapsed_s": elapsed,
            "left_s": left}  # fmt: skip


def line(family: str, path: Path = PLAN_FILE) -> str:
    """``runs: 120/355 records (34%), 6 min 10 s so far, about 12 min left for runs``."""
    if not path.is_file():
        return f"{family}: (no progress plan at {path})"
    plan = json.loads(path.read_text())
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
