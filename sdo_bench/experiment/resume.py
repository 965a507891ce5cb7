"""What lets an interrupted job resume: a seed's record already in place (made from the same settings,
not failed) is kept, and a finished seed's copies outside the job's declared outputs (``keep_dir``)
are restored, so that a job killed after some seeds (SIGKILL, the OOM killer, a cluster's time limit:
Snakemake then deletes the outputs the failed job made) does not run them again."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def keep(keep_dir, *paths) -> None:
    """Copies of a finished seed's files in ``keep_dir`` (each written atomically)."""
    Path(keep_dir).mkdir(parents=True, exist_ok=True)
    for p in [Path(x) for x in paths if x]:
        tmp = Path(keep_dir) / f".{p.name}.tmp"
        shutil.copyfile(p, tmp)
        tmp.replace(Path(keep_dir) / p.name)


def restore(keep_dir, out, samples, want_hash: str) -> dict | None:
    """The kept copy of this seed put back in place, where it was made from the same settings."""
    kept = Path(keep_dir) / Path(out).name
    kept_samples = samples and Path(keep_dir) / Path(samples).name
    rec = existing(kept, kept_samples, want_hash)
    if rec is not None:
        keep(Path(out).parent, kept, kept_samples)
    return rec


def existing(out, samples, want_hash: str) -> dict | None:
    """The record at ``out`` (with its images at ``samples``), where it was made from the settings
    that hash to ``want_hash`` and did not fail; else None (the seed runs)."""
    out = Path(out)
    if not out.is_file() or (samples is not None and not Path(samples).is_file()):
        return None
    try:
        rec = json.loads(out.read_text())
    except ValueError:
        return None
    same = (rec.get("provenance") or {}).get("config_hash") == want_hash
    return rec if same and rec.get("status") != "error" else None  # a failed run is tried again
