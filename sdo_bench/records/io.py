"""Run records (docs/design.md §6): the JSON schema kept in the package and atomic writing."""

from __future__ import annotations

import json
import math
import os
import tempfile
from functools import lru_cache
from pathlib import Path

#: the record type's JSON schema as committed (generated from :func:`.record.schema`)
SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schemas" / "record.schema.json"


@lru_cache(maxsize=1)
def committed_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text())


def validate(record: dict) -> None:
    """Raise ``jsonschema.ValidationError`` when ``record`` does not follow the record schema."""
    import jsonschema

    jsonschema.validate(record, committed_schema())


def _clean(obj):
    """JSON has no NaN/inf: write them as null."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, with the path in the message, when a record cannot be written there."""
    path = Path(path)
    if str(path) in ("", "."):
        raise ValueError("output path is empty; give a file path (e.g. record.json)")
    if path.is_dir():
        raise ValueError(f"output {path} is a directory; give a file path (e.g. {path / 'record.json'})")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"output directory {parent} does not exist; create it first")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=parent)
    except OSError as e:
        raise ValueError(f"output directory {parent} is not writable ({e.strerror})") from None
    os.close(fd)
    os.unlink(tmp)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(tmp: str, path: Path) -> None:
    """Give the temporary file the mode a plain ``open`` would (``mkstemp`` makes it 0600: others
    could not read a record in a shared folder) and move it in place."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def check_dir(path: str | os.PathLike, what: str = "output directory") -> Path:
    """Fail early, naming the path, when ``path`` cannot be (or become) a directory to write into:
    it is a file, or its nearest existing parent is not a writable directory. Creates nothing."""
    path = Path(path)
    if str(path) == "":
        raise ValueError(f"{what} is empty; give a directory path")
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} {path} is a file; give a directory")
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"{what} {path}: {parent} is a file, not a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".sdo-bench.", suffix=".probe", dir=parent)
    except OSError as e:
        raise ValueError(f"{what} {path}: {parent} is not writable ({e.strerror})") from None
    os.close(fd)
    os.unlink(tmp)
    return path


def read_record(path: str | os.PathLike) -> dict:
    """One record file, or a ``ValueError`` naming it (missing, not JSON, not a record)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"record {path} does not exist")
    try:
        rec = json.loads(path.read_text())
    except ValueError as e:
        raise ValueError(f"record {path} is not valid JSON ({e})") from None
    if not isinstance(rec, dict):
        raise ValueError(f"record {path} is a JSON {type(rec).__name__}, not a record (an object)")
    return rec


def write_atomic(path: str | os.PathLike, record: dict) -> None:
    """Write JSON to a temporary file beside ``path`` and move it in place: never a partial record."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(_clean(record), f, indent=1, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        _publish(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_npz_atomic(path: str | os.PathLike, **arrays) -> None:
    """``numpy.savez_compressed`` through a temporary file and ``os.replace``."""
    import numpy as np

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp.npz", dir=path.parent or ".")
    os.close(fd)
    try:
        np.savez_compressed(tmp, **arrays)
        _publish(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read(path: str | os.PathLike) -> dict:
    return json.loads(Path(path).read_text())


#: the statuses of a run that did not finish (``sdo-bench run --strict`` exits 1 on any)
FAILED = ("error", "oom", "diverged")


def summary(rec: dict) -> str:
    """One line on how a run ended."""
    line = f"{rec['task_label']} {rec['variant']} seed={rec['seed']}: {rec['status']}"
    if rec["status"] == "ok":
        return line + f", reward {rec['reward_init']:.4g} -> {rec['reward_final']:.4g}"
    return line + (f" ({rec['error'].splitlines()[0][:200]})" if rec["error"] else "")


def brief(rec: dict) -> dict:
    """What ``sdo-bench run --json`` prints of a record: how it ended and its headline figures."""
    keys = ("task_label", "variant", "seed", "steps", "status", "error", "reward_init", "reward_final",
            "objective_init", "objective_final", "peak_tensor_bytes", "graph_bytes", "nfe_forward",
            "nfe_backward", "grad_cosine_vs_exact")  # fmt: skip
    out = {k: rec.get(k) for k in keys}
    out["time_per_iter_s"] = (rec.get("time_per_iter_s") or {}).get("median")
    return _clean(out)
