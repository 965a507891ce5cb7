"""Run records (docs/design.md §6): the JSON schema kept in the package and atomic writing."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
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
    name_too_long(path, "output")
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


def check_outputs(outputs: list[tuple[str, object]]) -> None:
    """Every output of one command, checked before any work: files writable (:func:`check_writable`),
    folders usable (:func:`check_dir`; a flag whose name ends in ``-dir``), and no two naming the same
    path, nor a file inside a folder another flag writes. ``outputs``: ``(flag, path)`` pairs, ``None``
    paths skipped. ``ValueError`` in one line naming both flags."""
    seen: dict[Path, str] = {}
    dirs: list[tuple[Path, str]] = []
    for flag, path in outputs:
        if path is None:
            continue
        where = f"{flag} {path}"
        name_too_long(path, flag)
        if flag.endswith("-dir"):
            check_dir(path, flag)
        else:
            check_writable(path)
        try:
            real = Path(os.path.realpath(path))
        except (OSError, RuntimeError) as e:
            raise ValueError(f"{where}: cannot resolve the path ({e})") from None
        if real in seen:
            raise ValueError(
                f"{seen[real]} and {where} name the same file ({real}); give each output its own path"
            )
        seen[real] = where
        if flag.endswith("-dir"):
            dirs.append((real, where))
    for real, where in seen.items():
        for d, dwhere in dirs:
            if real != d and d in real.parents:
                raise ValueError(f"{where} lies inside {dwhere}, which the command also writes; move one")


def name_too_long(path, flag: str) -> None:
    """``ValueError`` where a part of ``path`` is longer than a file name may be here (most file
    systems: 255 bytes), instead of an ``OSError`` later."""
    for part in Path(path).parts:
        if len(os.fsencode(part)) > 255:
            raise ValueError(
                f"{flag} {str(path)[:60]}...: a name in it is {len(os.fsencode(part))} bytes long, "
                "over the 255 a file name may be; give a shorter path"
            )


def check_dir(path: str | os.PathLike, what: str = "output directory") -> Path:
    """Fail early, naming the path, when ``path`` cannot be (or become) a directory to write into:
    it is a file, or its nearest existing parent is not a writable directory. Creates nothing."""
    path = Path(path)
    if str(path) == "":
        raise ValueError(f"{what} is empty; give a directory path")
    name_too_long(path, what)
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ValueError(f"{what} {path}: a symbolic link loop; give a real directory") from None
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


#: the most one JSON file the library reads may hold (a run record is well under 1 MiB; a cost rows
#: file a few MiB): a larger file is refused, not read into memory
MAX_JSON_BYTES = 64 * 2**20

_JSON_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def read_json(path: str | os.PathLike, what: str = "record"):
    """A JSON file's content, or one ``ValueError`` naming the file and what is wrong: missing, not a
    regular file (a folder, FIFO, device or symlink loop is never opened), over :data:`MAX_JSON_BYTES`,
    not UTF-8, not JSON."""
    path = Path(path)
    try:
        st = os.stat(path)
    except OSError as e:
        if e.errno == errno.ENOENT:
            raise ValueError(f"{what} {path} does not exist") from None
        raise ValueError(f"{what} {path}: cannot read it ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file (a FIFO, socket or device)"
        raise ValueError(f"{what} {path} is {kind}; give a JSON file")
    if st.st_size > MAX_JSON_BYTES:
        raise ValueError(f"{what} {path} holds {st.st_size} bytes, over the {MAX_JSON_BYTES} a JSON file may")
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise ValueError(f"{what} {path}: cannot read it ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{what} {path} is not UTF-8 text (damaged?)") from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise ValueError(f"{what} {path} is not valid JSON ({e}); truncated or damaged?") from None


def _type_error(value, schema: dict, where: str) -> str | None:
    """Why ``value`` does not follow ``schema`` (type, oneOf, required, properties), or None."""
    if "oneOf" in schema:
        if not any(_type_error(value, s, where) is None for s in schema["oneOf"]):
            return f"{where}: {value!r:.60} has the wrong type or fields"
        return None
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}: {value!r:.60} is not one of {', '.join(map(str, schema['enum']))}"
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if not any(_JSON_TYPES[t](value) for t in types):
            return f"{where}: {value!r:.60} is not {' or '.join(types)}"
    if isinstance(value, dict):
        for key in schema.get("required", ()):
            if key not in value:
                return f"{where}: field {key!r} is missing"
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                problem = _type_error(value[key], sub, f"{where}.{key}" if where else key)
                if problem:
                    return problem
    return None


def check_record(rec, path) -> dict:
    """``rec`` if it is a run record whose fields have the record type's types (:mod:`.record`, as the
    committed schema writes them), else one ``ValueError`` naming the file and the field."""
    if not isinstance(rec, dict):
        raise ValueError(f"record {path} is a JSON {type(rec).__name__}, not a record (an object)")
    problem = _type_error(rec, committed_schema(), "")
    if problem:
        problem = problem.removeprefix(": ")
        raise ValueError(f"record {path}: {problem}")
    return rec


def read_record(path: str | os.PathLike) -> dict:
    """One run record, checked against the record type, or a ``ValueError`` naming the file and field
    (missing, not a regular file, too large, not JSON, a field missing or of the wrong type)."""
    return check_record(read_json(path), path)


def record_files(folder: str | os.PathLike) -> list[Path]:
    """Every ``*.json`` entry below ``folder`` (its ``raw/`` where it has one; copies under ``kept/``
    left out), sorted, symlinked folders not followed. Entries that are not regular files are listed
    too, so that reading them reports them."""
    folder = Path(folder)
    root = folder / "raw" if (folder / "raw").is_dir() else folder
    out = []
    for here, dirs, files in os.walk(root, followlinks=False):
        rel = Path(here).relative_to(root).parts
        if "kept" in rel:
            continue
        for name in [*files, *dirs]:
            if name.endswith(".json"):
                out.append(Path(here) / name)
    return sorted(out)


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


@contextlib.contextmanager
def staged(out: str | os.PathLike):
    """A set of files written atomically as a set: the caller writes into a temporary folder inside
    ``out`` (yielded); when it returns, each file is moved into place (``os.replace``, atomic per file);
    when it raises, nothing in ``out`` has changed and the temporary folder is gone."""
    import shutil

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        yield tmp
        for f in sorted(p for p in tmp.rglob("*") if p.is_file()):
            dest = out / f.relative_to(tmp)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(f, 0o666 & ~_umask())
            os.replace(f, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Text through a temporary file beside ``path`` and ``os.replace``: never a partial file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        _publish(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
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


def compared_time(rec: dict) -> dict:
    """The time per iteration every comparison takes from a record (fastest, median, p10, p90): its
    compute time where it has one (CPU time, CUDA events: it holds on a busy machine), else its
    wall-clock time."""
    return rec.get("compute_time_per_iter_s") or rec.get("time_per_iter_s") or {}


def compared_seconds(rec: dict) -> float | None:
    """The one time per iteration tables, claims, figures and ``compare`` take from a record: the
    fastest of equal work (interference taken out) of :func:`compared_time`; a record written before
    that figure existed gives its median."""
    t = compared_time(rec)
    return t.get("fastest", t.get("median"))


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
