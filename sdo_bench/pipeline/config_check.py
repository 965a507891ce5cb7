"""The workflow's config check: the schema (Snakemake's ``validate``, which fills in its defaults), then
every name and value against its owner — task and method registries, :mod:`sdo_bench.spec.settings` —
before any job starts. Each error is one ``ValueError`` naming the config key and the valid choices."""

from __future__ import annotations

from dataclasses import asdict

from ..spec import catalog as _catalog
from ..spec import settings as _settings
from ..spec.variant import Variant


def validate(config: dict, schema: str) -> None:
    """Snakemake's ``validate`` (which fills in the schema's defaults), its error cut to the line that
    matters and where (Snakemake prints the whole schema, ~300 lines, around it)."""
    import re

    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate as _validate

    try:
        _validate(config, schema)
    except WorkflowError as e:
        text = str(e)
        what = re.search(r"ValidationError: (.*)", text)
        where = re.search(r"On instance((?:\[[^\]]+\])*)", text)
        parts = re.findall(r"\[(?:'([^']+)'|(\d+))\]", where.group(1)) if where else []
        key = "".join(f".{k}" if k else f"[{i}]" for k, i in parts).lstrip(".")
        line = what.group(1) if what else text.splitlines()[0]
        raise WorkflowError(
            f"config error{' at key ' + key if key else ''}: {line} "
            "(every key and its description: workflow/schemas/config.schema.yaml)"
        ) from None


def _check_variant(variant: Variant, steps: int, where: str) -> None:
    """A method's options against a number of steps, as its job would check them."""
    from types import SimpleNamespace

    from ..methods import build as build_method

    try:
        build_method(variant).check(SimpleNamespace(steps=steps))
    except ValueError as e:
        raise ValueError(f"config key methods ({variant.label}) on {where}: {e}") from None


def _known(key: str, names, valid, what: str) -> None:
    for name in names:
        if name not in valid:
            raise ValueError(f"config key {key}: unknown {what} {name!r}; valid choices: " + ", ".join(valid))


def unchecked(config: dict) -> dict:
    """A saved plan's content (:meth:`sdo_bench.pipeline.plan.Plan.save`) from the shipped catalog
    (:mod:`sdo_bench.spec.catalog`) instead of the registries: the config's names are not checked
    against them (no torch here)."""
    saved = _catalog.read()
    variants = {}
    for entry in config["methods"]:
        v = Variant.from_config(entry)
        variants[v.label] = v
    applies = {
        label: saved["methods"].get(v.method, {}).get("applies", list(_settings.TARGETS))
        for label, v in variants.items()
    }
    return {
        "tasks": saved["tasks"],
        "variants": {k: asdict(v) for k, v in variants.items()},
        "applies": applies,
    }


def _finite(node, key: str) -> None:
    """Every number in the config finite (the schema's minimum and maximum let NaN through)."""
    import math

    if isinstance(node, float) and not math.isfinite(node):
        raise ValueError(f"config key {key}: must be a finite number, got {node}")
    if isinstance(node, dict):
        for k, v in node.items():
            _finite(v, f"{key}.{k}" if key else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _finite(v, f"{key}[{i}]")


def check(plan) -> dict[str, Variant]:
    """Every name and value of ``plan.config`` (the plan's catalog filled first); returns the variants
    by label, in config order."""
    from .. import tasks as _tasks
    from ..methods import build as build_method
    from .generate import catalog

    c, plan.catalog = plan.config, catalog()["tasks"]
    known = list(plan.catalog)
    _finite(c, "")
    try:
        _settings.device(c["device"])
    except ValueError as e:
        raise ValueError(f"config key device: {e}") from None
    _known("dtype", [c["dtype"]], _settings.DTYPES, "dtype")
    _known("cost.attention", [c["cost"]["attention"]], _settings.ATTENTION, "attention kernel")
    _known("cost.dtypes", c["cost"]["dtypes"], _settings.COST_DTYPES, "dtype")
    seen = set()
    for i, entry in enumerate(c["tasks"]):
        name = entry["task"]
        _known(f"tasks[{i}].task", [name], known, "task")
        label = entry.get("label") or name
        if label in seen:
            raise ValueError(f"config key tasks[{i}]: {label!r} listed twice; give one entry its own `label`")
        seen.add(label)
        valid = plan.catalog[name]["options"]
        for key in entry.get("options") or {}:
            if key not in valid:
                raise ValueError(
                    f"config key tasks[{i}].options.{key}: task {name!r} has no option "
                    f"{key!r}; valid choices: " + ", ".join(sorted(valid))
                )
    labels = [e.get("label") or e["task"] for e in c["tasks"]]
    for key in c["task_options"]:
        if not any(key in plan.catalog[e["task"]]["options"] for e in c["tasks"]):
            raise ValueError(f"config key task_options.{key}: no task in `tasks` has option {key!r}")
    variants: dict[str, Variant] = {}
    for i, entry in enumerate(c["methods"]):
        v = Variant.from_config(entry)
        try:
            method = build_method(v)
        except ValueError as e:
            raise ValueError(f"config key methods[{i}] ({v.method}): {e}") from None
        if v.label in variants:
            raise ValueError(f"config key methods[{i}]: label {v.label!r} used twice; set `label`")
        variants[v.label] = v
        plan.applies[v.label] = [t for t in _settings.TARGETS if method.applies_to(t)]
    if len(set(c["seeds"])) != len(c["seeds"]):
        raise ValueError(f"config key seeds: {c['seeds']} lists a seed twice; give each seed once")
    for seed in [*c["seeds"], c["sweeps"]["seed"]]:
        try:
            _settings.integer("seed", seed, least=0, most=_settings.MAX_SEED)
        except ValueError as e:
            raise ValueError(f"config key seeds: {e}") from None
    for i, entry in enumerate(c["tasks"]):
        _known(f"tasks[{i}].methods", entry.get("methods") or [], list(variants), "method label")
        label = entry.get("label") or entry["task"]
        settings = {k: v for k, v in plan.task_settings(label).items() if k != "device"}
        try:  # values checked here, before any job (the device: where the job runs)
            resolved = _tasks.settings_for(entry["task"], built=plan.built(label), **settings)
        except ValueError as e:
            raise ValueError(f"config key tasks[{i}] ({label}): {e}") from None
        n = resolved.get("steps", 1) - (resolved.get("start_step") or 0)
        for vlabel, v in variants.items():
            if plan.runs_on(label, vlabel):
                _check_variant(v, n, f"tasks[{i}] ({label}, N={n})")
    _known("sweeps.methods", c["sweeps"]["methods"], list(variants), "method label")
    _known("sweeps.tasks", c["sweeps"]["tasks"], list(dict.fromkeys(known + labels)), "task or label")
    for name in c["sweeps"]["tasks"]:  # every N as its job will build it
        settings = {k: v for k, v in plan.task_settings(name).items() if k not in ("device", "steps")}
        for n in c["sweeps"]["steps"]:
            try:
                resolved = _tasks.settings_for(
                    plan.name_of(name), built=plan.built(name), **settings, steps=n
                )
            except ValueError as e:
                raise ValueError(f"config key sweeps.steps ({name}, N={n}): {e}") from None
            for vlabel in c["sweeps"]["methods"] or variants:
                steps = n - (resolved.get("start_step") or 0)
                _check_variant(variants[vlabel], steps, f"sweeps ({name}, N={n})")
    _known("cost.tasks", c["cost"]["tasks"], known, "task")
    _known("cost.methods", c["cost"]["methods"], list(variants), "method label")
    for key in ("cost", "cost_check"):  # N as the cost jobs (and their checks) take it
        for n in c[key]["steps"]:
            try:
                _settings.integer("steps", n, least=1, most=_settings.MAX_STEPS)
            except ValueError as e:
                raise ValueError(f"config key {key}.steps: {e}") from None
        if key == "cost_check" and not c[key]["enabled"]:
            continue
        for name in c["cost"]["tasks"]:
            for vlabel in c["cost"]["methods"] or variants:
                for n in c[key]["steps"]:
                    _check_variant(variants[vlabel], n, f"{key} ({name}, N={n})")
    ref = c["report"]["reference_method"]
    if ref not in variants:
        raise ValueError(
            f"config key report.reference_method: {ref!r} is not a method label; "
            "valid choices: " + ", ".join(variants)
        )
    return variants
