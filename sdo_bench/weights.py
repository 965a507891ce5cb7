"""Local weight files: the one error type for missing or broken weights, and the checks that raise it.

Nothing here downloads. A missing path is reported with the setting that names it (config key / task
option), the files expected there, and where users usually get them.

Inside :func:`configs_only` (the cost model, :mod:`sdo_bench.cost`) every loader builds its model from
the architecture's config and loads no weights: :func:`require` checks nothing and returns None.
"""

from __future__ import annotations

import contextlib
import contextvars
from pathlib import Path

#: the package's shipped files: the digits weights, SD1.5's and open_clip's configs
ASSETS = Path(__file__).resolve().parent / "assets"


def asset_config(relative: str) -> dict:
    """A shipped architecture config (``sdo_bench/assets/<relative>``), its notes (``_`` keys) left out."""
    import json

    return {k: v for k, v in json.loads((ASSETS / relative).read_text()).items() if not k.startswith("_")}


_CONFIGS_ONLY = contextvars.ContextVar("sdo_bench_configs_only", default=False)


@contextlib.contextmanager
def configs_only():
    """Within the block, models are built from their configs with no weights (nothing is read)."""
    token = _CONFIGS_ONLY.set(True)
    try:
        yield
    finally:
        _CONFIGS_ONLY.reset(token)


def skipped() -> bool:
    """True inside :func:`configs_only`: loaders build architectures and load no weights."""
    return _CONFIGS_ONLY.get()


class WeightsError(FileNotFoundError, ValueError):
    """Weights missing or unreadable at a local path (the message says which key, which files, how to
    get them). A ``ValueError`` too: a setting naming a missing path is bad input, caught where the
    settings are checked (the workflow's config check)."""


def require(
    path, *, key: str, expected: list[str] | tuple[str, ...] = (), kind: str = "file", where: str = ""
) -> Path | None:
    """Return ``path`` as a :class:`Path` if it exists (as a ``kind`` 'file' or 'dir', holding ``expected``).

    Raises :class:`WeightsError` naming ``key``, the missing files and ``where`` to get them otherwise.
    Inside :func:`configs_only` it checks nothing and returns None."""
    if skipped():
        return None
    hint = f" Where to get them: {where}" if where else ""
    if path in (None, ""):
        raise WeightsError(
            f"option {key} is not set: give the local path of the weights "
            f"(--set {key}=PATH on the command line; task_options.{key} or "
            f"tasks[].options.{key} in the workflow config).{hint}"
        )
    p = Path(path).expanduser()
    if kind == "dir":
        if not p.is_dir():
            raise WeightsError(
                f"{key}: directory {p} does not exist; it should hold "
                f"{', '.join(expected) or 'the weights'}.{hint}"
            )
        missing = [e for e in expected if not (p / e).exists()]
        if missing:
            raise WeightsError(
                f"{key}: {p} lacks {', '.join(missing)} (expected {', '.join(expected)}).{hint}"
            )
    elif not p.is_file():
        raise WeightsError(f"{key}: file {p} does not exist.{hint}")
    return p


def cache_dir(name: str) -> Path:
    """``$SDO_BENCH_CACHE/name`` (default ``~/.cache/sdo-bench/name``): where generated weights go."""
    import os

    root = os.environ.get("SDO_BENCH_CACHE") or Path.home() / ".cache" / "sdo-bench"
    return Path(root) / name


def ensure_built(out: Path, marker: str, build) -> Path:
    """``out`` if ``out/marker`` exists; else ``build(tmp)`` into a temporary sibling renamed into
    place, so that concurrent jobs never see half a directory."""
    import os
    import shutil
    import tempfile

    if (out / marker).is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        build(tmp)
        try:
            os.replace(tmp, out)
        except OSError:  # another process finished first
            if not (out / marker).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
