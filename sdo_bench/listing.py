"""``sdo-bench list``: every task and method with its options and defaults.

The text comes from the registries (:func:`sdo_bench.tasks.describe`, :func:`sdo_bench.methods.describe`),
and importing them imports torch (1.7-1.9 s on the project's 2-core machine, more than the 1.5 s a
command that only lists names should take). So the text is kept in a cache keyed on the package's
sources (each ``.py`` file's path, size and modification time, and the Python version): while nothing
in ``sdo_bench/`` changed since the last answer, ``list`` reads it back without importing torch. A
first call, or one after an edit, builds it from the registries. A process that has already imported
the registries (a method registered at run time, :mod:`tests.test_structure`) always gets the live text.

The cache lives in ``$XDG_CACHE_HOME/sdo-bench`` (``~/.cache/sdo-bench``); a cache that cannot be
written is skipped, never an error.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def live() -> str:
    from .methods import describe as describe_methods
    from .tasks import describe as describe_tasks

    return describe_tasks() + "\n" + describe_methods()


def cache_path() -> Path:
    """Where the text for the current sources is cached (the name holds their fingerprint)."""
    h = hashlib.sha256(sys.version.encode())
    for p in sorted(PACKAGE.rglob("*.py")):
        st = p.stat()
        h.update(f"{p.relative_to(PACKAGE)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sdo-bench"
    return root / f"list-{h.hexdigest()[:20]}.txt"


def text() -> str:
    if "sdo_bench.tasks" in sys.modules or "sdo_bench.methods" in sys.modules:
        return live()
    try:
        path = cache_path()
    except RuntimeError:  # no home directory: no cache
        return live()
    try:
        return path.read_text()
    except OSError:  # no text for these sources yet
        pass
    out = live()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("list-*.txt"):  # texts of earlier sources
            old.unlink(missing_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(out)
        os.replace(tmp, path)
    except OSError:
        pass
    return out
