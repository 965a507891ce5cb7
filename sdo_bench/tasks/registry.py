"""The task registry: task families register their named tasks with :func:`register`.

Task names are ``<model>-<target>[-<reward>]`` (docs/design.md §4). A task family is one module under
``sdo_bench/worlds/`` whose factories are decorated with ``@register(name, description, **defaults)``;
``sdo_bench/tasks/__init__.py`` imports the families (CONTRIBUTING.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .task import Task, resolve_dtype


@dataclass
class TaskSpec:
    name: str
    factory: Callable[..., Task]
    defaults: dict
    description: str

    def option_names(self) -> set[str]:
        """Every setting this task accepts: its own defaults and the common ones."""
        return set(self.defaults) | set(COMMON_OVERRIDES)


_REGISTRY: dict[str, TaskSpec] = {}
COMMON_OVERRIDES = (
    "steps",
    "seed",
    "dtype",
    "batch",
    "iterations",
    "lr",
    "optimizer",
    "device",
    "start_step",
    "prior",
    "prior_weight",
)


def register(name: str, description: str, **defaults):
    def deco(factory):
        _REGISTRY[name] = TaskSpec(name, factory, defaults, description)
        return factory

    return deco


def names() -> list[str]:
    return sorted(_REGISTRY)


def spec(name: str) -> TaskSpec:
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; valid choices: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def settings_for(name: str, **overrides) -> dict:
    """The task's resolved settings (defaults, then ``overrides``), checked; ``ValueError`` names a
    bad key or value and the valid choices."""
    s = spec(name)
    valid = s.option_names()
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(unknown)} for task {name!r}; "
            f"valid choices: {', '.join(sorted(valid))}"
        )
    settings = dict(s.defaults)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    settings.setdefault("seed", 0)
    settings.setdefault("dtype", "float32")
    settings.setdefault("device", "cpu")
    settings.setdefault("optimizer", "adam")
    for key in ("steps", "batch", "iterations", "seed", "start_step"):
        v = settings.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            raise ValueError(f"{key} must be an integer, got {v!r}")
    for key in ("steps", "batch", "iterations"):
        if settings.get(key) is not None and settings[key] < 1:
            raise ValueError(f"{key} must be >= 1, got {settings[key]}")
    start = settings.get("start_step") or 0
    if start and not 0 <= start < (settings.get("steps") or 1):
        raise ValueError(f"start_step must be in 0..N-1 = {settings.get('steps', 1) - 1}, got {start}")
    from ..priors import PRIORS

    if settings.get("prior", "none") not in PRIORS:
        raise ValueError(f"unknown prior {settings['prior']!r}; valid choices: {', '.join(PRIORS)}")
    lr = settings.get("lr")
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0
    ):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    if settings.get("optimizer") not in ("adam", "sgd"):
        raise ValueError(f"unknown optimizer {settings.get('optimizer')!r}; valid choices: adam, sgd")
    if not re.fullmatch(r"cpu|cuda(:\d+)?", str(settings["device"])):
        raise ValueError(f"unknown device {settings['device']!r}; valid choices: cpu, cuda, cuda:N")
    w = settings.get("prior_weight")
    if w is not None and (isinstance(w, bool) or not isinstance(w, (int, float))):
        raise ValueError(f"prior_weight must be a number, got {w!r}")
    resolve_dtype(settings["dtype"])
    device = torch.device(settings["device"])
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {settings['device']!r} is not available on this machine; use --device cpu")
    return settings


def build(name: str, **overrides) -> Task:
    """Build task ``name``; keyword overrides replace its defaults (``steps``, ``seed``, ``dtype`` …)."""
    settings = settings_for(name, **overrides)
    config = dict(settings)
    start = settings.pop("start_step", None) or 0
    prior = settings.pop("prior", None) or "none"
    weight = settings.pop("prior_weight", None)
    if start and "prior" not in overrides:
        prior = config["prior"] = "none"  # the task's default prior is on x_T; the variable is x_s
    settings["dtype"] = resolve_dtype(settings["dtype"])
    settings["device"] = torch.device(settings["device"])
    task = spec(name).factory(name=name, **settings)
    if start:
        task.start_at(start)
    weight = 1.0 if weight is None else float(weight)
    task.set_prior(prior, weight)
    config["prior"], config["prior_weight"] = prior, weight
    task.config = {
        k: (str(v) if isinstance(v, (torch.dtype, torch.device)) else v) for k, v in config.items()
    }
    return task


def _short(v) -> str:
    if isinstance(v, list):
        return f"[{len(v)} items]"
    return repr(v) if isinstance(v, str) else str(v)


def describe() -> str:
    """Every task with its settings and their defaults (``sdo-bench list``)."""
    lines = ["tasks:"]
    for name in names():
        s = spec(name)
        shown = ", ".join(f"{k}={_short(v)}" for k, v in s.defaults.items())
        rest = ", ".join(k for k in COMMON_OVERRIDES if k not in s.defaults)
        lines += [f"  {name:24s} {s.description}", f"      options (--set KEY=VALUE): {shown}; also {rest}"]
    return "\n".join(lines)
