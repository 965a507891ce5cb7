"""Tasks: named, fixed combinations of model, reward, target, steps, batch, optimizer and iterations.

``build(name, **overrides)`` makes one (a :class:`Task`); ``names()`` lists them; ``spec(name)`` gives a
task's defaults. The registry (:mod:`.registry`) imports no task family; this package imports every
family folder beside it (``gmm/``, ``digits/``, ``stable_diffusion/``, ``sdxl/``, ``sd3/``,
``flux/``) once, and each registers its tasks (CONTRIBUTING.md).
"""

from __future__ import annotations

from . import digits, flux, gmm, sd3, sdxl, stable_diffusion  # noqa: F401  (each registers its tasks)
from .base import Task, freeze, resolve_dtype, seeded_normal
from .registry import (
    COMMON_OVERRIDES,
    TaskSpec,
    WorkflowFiles,
    build,
    make,
    names,
    register,
    settings_for,
    spec,
    unregister,
)

__all__ = [
    "COMMON_OVERRIDES",
    "Task",
    "TaskSpec",
    "WorkflowFiles",
    "build",
    "freeze",
    "make",
    "names",
    "register",
    "resolve_dtype",
    "seeded_normal",
    "settings_for",
    "spec",
    "unregister",
]
