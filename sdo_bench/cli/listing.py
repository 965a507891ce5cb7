"""``sdo-bench list``, and the task and method names every command checks before it imports torch (a
mistyped task answers in a fraction of a second, not after the seconds of importing torch and
diffusers).

Both read the shipped catalog (:mod:`sdo_bench.spec.catalog`), which a test keeps equal to the
registries. A process that has already imported the registries (a task family or method registered at
run time) gets their live answer instead (:func:`sdo_bench.pipeline.generate.catalog`).
"""

from __future__ import annotations

import sys

from ..spec import catalog as _catalog


def data() -> dict:
    """The catalog: live where the registries are loaded in this process, else as shipped."""
    if "sdo_bench.tasks" in sys.modules or "sdo_bench.methods" in sys.modules:
        from ..pipeline.generate import catalog

        return catalog()
    return _catalog.read()


def text() -> str:
    return _catalog.text(data())


def as_json() -> dict:
    return _catalog.listing(data())


def check_names(task: str | None = None, methods=()) -> None:
    """``ValueError`` (as the registries word it) for a task or method name no registry knows."""
    _catalog.check_names(data(), task, methods)
