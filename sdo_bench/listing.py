"""``sdo-bench list``: every task and method with its options and defaults; and the names every command
checks before it imports torch (:func:`check_names`: a mistyped task answers in a fraction of a second,
not after the 2-8 s of importing torch and diffusers).

The text and the names come from the registries (:func:`sdo_bench.tasks.describe`,
:func:`sdo_bench.methods.describe`), and importing them imports torch (1.7-1.9 s on the project's 2-core
machine, more than the 1.5 s a command that only lists names should take). So the text is kept in a cache
keyed on the package's sources (each ``.py`` file's path, size and modification time, and the Python
version): while nothing in ``sdo_bench/`` changed since the last answer, ``list`` reads it back without
importing torch. A first call, or one after an edit, builds it from the registries. A process that has
already imported the registries (a method registered at run time, :mod:`tests.test_structure`) always
gets the live text.

The cache lives in ``$XDG_CACHE_HOME/sdo-bench`` (``~/.cache/sdo-bench``); a cache that cannot be written
is skipped, never an error.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def live() -> str:
    return _live()["text"]


def _live() -> dict:
    """The registries' answer: the text, and every task and method with its options (JSON-ready)."""
    from .methods import REGISTRY
    from .methods import describe as describe_methods
    from .tasks import describe as describe_tasks
    from .tasks import names, spec

    tasks = {}
    for name in names():
        t = spec(name)
        tasks[name] = {"description": t.description, "target": t.target, "options": _plain(t.defaults)}
    methods = {
        name: {
            "summary": cls.summary(),
            "kind": cls.kind,
            "options": {k: {"default": _plain(o.default), "help": o.help} for k, o in cls.options.items()},
        }
        for name, cls in REGISTRY.items()
    }
    return {"text": describe_tasks() + "\n" + describe_methods(), "tasks": tasks, "methods": methods}


def _plain(v):
    """A value as JSON holds it (tuples as lists, anything else exotic as its string)."""
    import json

    return json.loads(json.dumps(v, default=str))


def cache_path() -> Path:
    """Where the text for the current sources is cached (the name holds their fingerprint)."""
    h = hashlib.sha256(sys.version.encode())
    for p in sorted(PACKAGE.rglob("*.py")):
        st = p.stat()
        h.update(f"{p.relative_to(PACKAGE)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sdo-bench"
    return root / f"list-{h.hexdigest()[:20]}.json"


def data() -> dict:
    """``{"text", "tasks", "methods"}``: from the cache while the sources are unchanged, else from the
    registries (and cached)."""
    import json

    if "sdo_bench.tasks" in sys.modules or "sdo_bench.methods" in sys.modules:
        return _live()
    try:
        path = cache_path()
    except RuntimeError:  # no home directory: no cache
        return _live()
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # nothing cached for these sources yet
        pass
    out = _live()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("list-*"):  # answers for earlier sources
            old.unlink(missing_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(out))
        os.replace(tmp, path)
    except OSError:
        pass
    return out


def text() -> str:
    return data()["text"]


def check_names(task: str | None = None, methods=()) -> None:
    """``ValueError`` (as the registries word it) for a task or method name no registry knows."""
    known = data()
    if task is not None and task not in known["tasks"]:
        raise ValueError(f"unknown task {task!r}; valid choices: {', '.join(sorted(known['tasks']))}")
    for m in methods:
        if m not in known["methods"]:
            raise ValueError(f"unknown method {m!r}; valid choices: {', '.join(known['methods'])}")
