"""The task registry: task families register their named tasks with :func:`register`.

Task names are ``<model>-<target>[-<reward>]`` (docs/design.md §4). A task family is one folder under
``sdo_bench/tasks/`` whose ``__init__`` decorates its factories with ``@register(name, description,
**defaults)``; ``sdo_bench/tasks/__init__.py`` imports the families (CONTRIBUTING.md). A task whose
files a workflow rule makes says so with ``workflow=`` (:class:`WorkflowFiles`): the workflow reads
that declaration and never branches on family names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..spec import settings as _settings
from .base import Task


@dataclass(frozen=True)
class WorkflowFiles:
    """What the workflow builds for a task: ``inputs`` maps a task setting that names a directory to
    the files in it that a rule makes (the job waits for them); ``defaults`` gives that directory where
    the config leaves the setting unset (``{key}`` takes the config's top-level ``key``); ``outputs``
    names the family's own workflow outputs (keys of :data:`sdo_bench.spec.outputs.FAMILY_OUTPUTS`), made
    once when the config plans one of these tasks."""

    inputs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()


@dataclass
class TaskSpec:
    name: str
    factory: Callable[..., Task]
    defaults: dict
    description: str
    workflow: WorkflowFiles | None = None
    #: the family's rule for its own options: ``check(settings, built)`` raises ``ValueError`` naming
    #: the key; ``built``: path settings that a workflow rule makes (not there yet at config time)
    check: Callable[[dict, tuple], None] | None = None
    #: what the task optimizes: latent | condition | lora | weights (from its name)
    target: str = ""

    def option_names(self) -> set[str]:
        """Every setting this task accepts: its own defaults and the common ones."""
        return set(self.defaults) | set(COMMON_OVERRIDES)


_REGISTRY: dict[str, TaskSpec] = {}
COMMON_OVERRIDES = _settings.COMMON


def register(
    name: str,
    description: str,
    workflow: WorkflowFiles | None = None,
    check: Callable | None = None,
    **defaults,
):
    def deco(factory):
        target = _settings.target_of(name)
        _REGISTRY[name] = TaskSpec(name, factory, defaults, description, workflow, check, target)
        return factory

    return deco


def unregister(name: str) -> None:
    """Forget a task (a family defined at run time, as in the tests)."""
    _REGISTRY.pop(name, None)


def names() -> list[str]:
    return sorted(_REGISTRY)


def spec(name: str) -> TaskSpec:
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; valid choices: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def settings_for(name: str, built: tuple = (), **overrides) -> dict:
    """The task's resolved settings (defaults, then ``overrides``), checked once by their owners
    (:func:`sdo_bench.spec.settings.check`, then the family's ``check``); ``ValueError`` names a bad key or
    value and the valid choices. ``built``: path settings a workflow rule makes before the job runs."""
    s = spec(name)
    valid = s.option_names()
    unknown = sorted(set(overrides) - valid)
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(unknown)} for task {name!r}; "
            f"valid choices: {', '.join(sorted(valid))}" + _elsewhere(unknown)
        )
    settings = dict(s.defaults)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    settings.setdefault("seed", 0)
    settings.setdefault("dtype", "float32")
    settings.setdefault("device", "cpu")
    settings.setdefault("optimizer", "adam")
    _settings.check(settings, s.target)
    if s.check is not None:
        s.check(settings, tuple(built))
    return settings


def _elsewhere(keys) -> str:
    """Where an option another task family takes is given to the wrong one (e.g. a flow-matching
    ``shift`` on a DDIM task): which tasks take it."""
    notes = []
    for key in keys:
        takers = [n for n in names() if key in _REGISTRY[n].defaults]
        if takers:
            shown = ", ".join(takers[:4]) + (f" and {len(takers) - 4} more" if len(takers) > 4 else "")
            notes.append(f"{key} is an option of {shown}")
    return f" ({'; '.join(notes)})" if notes else ""


def build(name: str, **overrides) -> Task:
    """Build task ``name``; keyword overrides replace its defaults (``steps``, ``seed``, ``dtype`` …)."""
    return make(name, settings_for(name, **overrides), explicit=overrides)


def make(name: str, settings: dict, explicit=()) -> Task:
    """Build task ``name`` from settings :func:`settings_for` resolved and checked (a job checks its
    settings once and builds one task per seed from them); ``explicit``: the keys the caller set."""
    import torch

    from .base import RUN_SETTINGS, resolve_dtype

    settings = dict(settings)
    device = torch.device(settings["device"])
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {settings['device']!r} is not available on this machine; use --device cpu")
    config = dict(settings)
    start = settings.pop("start_step", None) or 0
    prior = settings.pop("prior", None) or "none"
    weight = settings.pop("prior_weight", None)
    settings.pop("regularizer", None)
    settings.pop("regularizer_weight", None)
    if start and "prior" not in explicit:
        prior = config["prior"] = "none"  # the task's default prior is on x_T; the variable is x_s
    settings["dtype"] = resolve_dtype(settings["dtype"])
    settings["device"] = device
    task = spec(name).factory(name=name, **settings)
    for key in RUN_SETTINGS:  # the same for every family: set here, not in each factory
        setattr(task, key, settings[key])
    if start:
        task.start_at(start)
    weight = 1.0 if weight is None else float(weight)
    task.set_prior(prior, weight)
    config["prior"], config["prior_weight"] = prior, weight
    regularizer = config.get("regularizer") or "none"
    reg_weight = config.get("regularizer_weight")
    reg_weight = 1.0 if reg_weight is None else float(reg_weight)
    task.set_regularizer(regularizer, reg_weight)
    config["regularizer"], config["regularizer_weight"] = regularizer, reg_weight
    task.config = {
        k: (str(v) if isinstance(v, (torch.dtype, torch.device)) else v) for k, v in config.items()
    }
    return task
