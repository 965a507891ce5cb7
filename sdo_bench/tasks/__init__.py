"""Tasks: named, fixed combinations of model, reward, target, steps, batch, optimizer and iterations.

``build(name, **overrides)`` makes one (a :class:`Task`); ``names()`` lists them; ``spec(name)`` gives a
task's defaults. The registry (:mod:`.registry`) imports no task family; this package imports every
family under ``sdo_bench/worlds/`` once, and each registers its tasks (CONTRIBUTING.md).
"""

from __future__ import annotations

from ..worlds import digits, gmm, stable_diffusion  # noqa: F401  (each registers its tasks)
from .registry import COMMON_OVERRIDES, TaskSpec, build, describe, names, register, settings_for, spec
from .task import DTYPES, TARGETS, Task, freeze, resolve_dtype, seeded_normal

__all__ = [
    "COMMON_OVERRIDES",
    "DTYPES",
    "TARGETS",
    "Task",
    "TaskSpec",
    "build",
    "describe",
    "freeze",
    "names",
    "register",
    "resolve_dtype",
    "seeded_normal",
    "settings_for",
    "spec",
]
