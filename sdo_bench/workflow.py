"""What the Snakemake workflow asks the library: one :class:`Plan` per validated config.

``workflow/rules/common.smk`` builds ``Plan(config)`` in-process and takes from it the method variants
and their labels, the tasks and their settings, option validation (a typo stops the workflow before
any job starts, naming the config key and the valid choices), the output file names and each job's
command-line arguments, with every config value encoded (:mod:`.values`) so that it reaches the job
with its type.
Nothing here is written twice in ``workflow/``.

Checking a config needs the task and method registries, which import torch (2-3 s). On a cluster every
job parses the workflow again in its own Snakemake (SLURM's jobstep), so the submitting Snakemake
saves what the registries told it (:meth:`Plan.save`: each task's family and options, the variants)
and a job's Snakemake reads that back (:meth:`Plan.for_job`) for the same config, without importing
torch or checking again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

from .report import outputs as _outputs
from .values import encode
from .variant import Variant

#: files the workflow's model rules make, where a task family needs them
TINY_SD, TINY_CLIP = "results/models/tiny-sd", "results/models/tiny-clip"
#: where the submitting Snakemake saves the checked plan for its jobs' own Snakemakes
PLAN_FILE = Path(".snakemake") / "sdo-bench-plan.json"


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

    try:
        variant.build().check(SimpleNamespace(steps=steps))
    except ValueError as e:
        raise ValueError(f"config key methods ({variant.label}) on {where}: {e}") from None


class Plan:
    """The runs, sweeps and outputs of one config, validated against ``workflow/schemas/
    config.schema.yaml`` first (Snakemake's ``validate`` fills in the schema's defaults)."""

    def __init__(self, config: dict, saved: dict | None = None):
        """``saved``: what :meth:`save` wrote for this config (no check, no registry); else the
        registries are asked and the config checked (``ValueError`` naming the key)."""
        self.config = config
        #: config entries by label (the task name unless the entry sets `label`)
        self.tasks = {
            e.get("label") or e["task"]: {k: v for k, v in e.items() if k not in ("task", "label", "methods")}
            for e in config["tasks"]
        }
        self.task_names = {e.get("label") or e["task"]: e["task"] for e in config["tasks"]}
        self.task_methods = {e.get("label") or e["task"]: e.get("methods") for e in config["tasks"]}
        self.weights = config["weights_dir"]
        if saved is None:
            #: each task name's family (``digits``, ``gmm``, ``stable_diffusion``) and option names
            self.catalog: dict[str, dict] = {}
            self.variants = self._check()
        else:
            self.catalog = saved["tasks"]
            self.variants = {label: Variant(**v) for label, v in saved["variants"].items()}
        self.seeds = list(config["seeds"])
        sweeps = config["sweeps"]
        self.sweep_tasks = list(sweeps["tasks"])
        self.sweep_steps = list(sweeps["steps"])
        self.sweep_variants = list(sweeps["methods"] or self.variants)
        self.reference = config["report"]["reference_method"]
        cost = config["cost"]
        self.cost_tasks = list(cost["tasks"])
        self.cost_variants = list(cost["methods"] or self.variants)
        self.cost_dtypes = list(cost["dtypes"])

    # -- validation ------------------------------------------------------------------------------------
    def _check(self) -> dict[str, Variant]:
        from . import tasks as _tasks

        c, known = self.config, _tasks.names()
        for name in known:
            spec = _tasks.spec(name)
            self.catalog[name] = {
                "family": spec.factory.__module__.rsplit(".", 1)[-1],
                "options": sorted(spec.option_names()),
            }
        seen = set()
        for i, entry in enumerate(c["tasks"]):
            name = entry["task"]
            if name not in known:
                raise ValueError(
                    f"config key tasks[{i}].task: unknown task {name!r}; valid choices: " + ", ".join(known)
                )
            label = entry.get("label") or name
            if label in seen:
                raise ValueError(
                    f"config key tasks[{i}]: {label!r} listed twice; give one entry its own `label`"
                )
            seen.add(label)
            valid = self.catalog[name]["options"]
            for key in entry.get("options") or {}:
                if key not in valid:
                    raise ValueError(
                        f"config key tasks[{i}].options.{key}: task {name!r} has no option "
                        f"{key!r}; valid choices: " + ", ".join(sorted(valid))
                    )
        labels = [e.get("label") or e["task"] for e in c["tasks"]]
        for key in c["task_options"]:
            if not any(key in self.catalog[e["task"]]["options"] for e in c["tasks"]):
                raise ValueError(f"config key task_options.{key}: no task in `tasks` has option {key!r}")
        variants: dict[str, Variant] = {}
        for i, entry in enumerate(c["methods"]):
            v = Variant.from_config(entry)
            try:
                v.build()
            except ValueError as e:
                raise ValueError(f"config key methods[{i}] ({v.method}): {e}") from None
            if v.label in variants:
                raise ValueError(f"config key methods[{i}]: label {v.label!r} used twice; set `label`")
            variants[v.label] = v
        if len(set(c["seeds"])) != len(c["seeds"]):
            raise ValueError(f"config key seeds: {c['seeds']} lists a seed twice; give each seed once")
        for i, entry in enumerate(c["tasks"]):
            label = entry.get("label") or entry["task"]
            settings = {k: v for k, v in self.task_settings(label).items() if k != "device"}
            try:  # values checked here, before any job (the device: where the job runs)
                resolved = _tasks.settings_for(entry["task"], **settings)
            except ValueError as e:
                raise ValueError(f"config key tasks[{i}] ({label}): {e}") from None
            n = resolved.get("steps", 1) - (resolved.get("start_step") or 0)
            for vlabel, v in variants.items():
                if vlabel in (entry.get("methods") or variants):
                    _check_variant(v, n, f"tasks[{i}] ({label}, N={n})")
        for name in c["sweeps"]["tasks"]:
            for vlabel in c["sweeps"]["methods"] or variants:
                for n in c["sweeps"]["steps"]:
                    if vlabel in variants:
                        _check_variant(variants[vlabel], n, f"sweeps ({name}, N={n})")
        for i, entry in enumerate(c["tasks"]):
            for name in entry.get("methods") or []:
                if name not in variants:
                    raise ValueError(
                        f"config key tasks[{i}].methods: unknown method label {name!r}; valid choices: "
                        + ", ".join(variants)
                    )
        for key, names, valid, what in [
            ("sweeps.tasks", c["sweeps"]["tasks"], list(dict.fromkeys(known + labels)), "task or label"),
            ("sweeps.methods", c["sweeps"]["methods"], list(variants), "method label"),
            ("cost.tasks", c["cost"]["tasks"], known, "task"),
            ("cost.methods", c["cost"]["methods"], list(variants), "method label"),
        ]:
            for name in names:
                if name not in valid:
                    raise ValueError(
                        f"config key {key}: unknown {what} {name!r}; valid choices: " + ", ".join(valid)
                    )
        ref = c["report"]["reference_method"]
        if ref not in variants:
            raise ValueError(
                f"config key report.reference_method: {ref!r} is not a method label; "
                "valid choices: " + ", ".join(variants)
            )
        return variants

    # -- the saved plan (for the jobs' own Snakemakes) -----------------------------------------------
    @staticmethod
    def config_key(config: dict) -> str:
        """A fingerprint of a validated config (Snakemake's config, defaults filled in)."""
        return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()

    def save(self, path: Path = PLAN_FILE) -> None:
        """What the registries told this plan, for :meth:`for_job` (written atomically)."""
        data = {
            "config": self.config_key(self.config),
            "tasks": self.catalog,
            "variants": {label: asdict(v) for label, v in self.variants.items()},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))  # in order: the variants keep the config's
        os.replace(tmp, path)

    @classmethod
    def for_job(cls, config: dict, path: Path = PLAN_FILE) -> Plan:
        """The plan in a job's own Snakemake: the one the submitting Snakemake saved for this same
        config, read back without the registries (torch); the plan built afresh where there is none
        (no shared directory, another config)."""
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError):
            saved = {}
        if saved.get("config") == cls.config_key(config):
            return cls(config, saved)
        print(
            f"sdo-bench: no plan saved for this config at {path.resolve()} (is the working directory "
            "shared with the nodes?); checking the config again, which imports torch (2-3 s per job)",
            file=sys.stderr,
        )
        return cls(config)

    # -- outputs ---------------------------------------------------------------------------------------
    def run_records(self) -> list[str]:
        return [
            f"results/raw/{t}/{v}/seed{s}.json"
            for t in self.tasks
            for v in self.variants
            if v in (self.task_methods[t] or self.variants)
            for s in self.seeds
        ]

    def sweep_records(self) -> list[str]:
        return [
            f"results/sweeps/{t}/{v}/N{n}.json"
            for t in self.sweep_tasks
            for v in self.sweep_variants
            for n in self.sweep_steps
        ]

    def cost_records(self) -> list[str]:
        return [
            f"results/cost/{t}/{v}/{d}.json"
            for t in self.cost_tasks
            for v in self.cost_variants
            for d in self.cost_dtypes
        ]

    def figure_outputs(self) -> list[str]:
        return _outputs.figures(list(self.tasks), self.sweep_tasks, self.cost_tasks)

    def table_outputs(self) -> dict[str, str]:
        files = dict(_outputs.TABLES, **(_outputs.COST_TABLES if self.cost_tasks else {}))
        return {key: f"results/tables/{name}" for key, name in files.items()}

    def write_progress(self) -> None:
        """The planned records of each family, for ``sdo-bench progress`` (:mod:`.progress`)."""
        from .progress import write_plan

        write_plan({"runs": self.run_records(), "sweeps": self.sweep_records(), "cost": self.cost_records()})

    def benchmark_files(self) -> list[str]:
        """The ``benchmark:`` files of the run, sweep, cost and model jobs (what ``time_per_rule`` sums)."""
        out = [f"results/benchmarks/runs/{t}/{v}.tsv" for t in self.tasks for v in self.variants
               if v in (self.task_methods[t] or self.variants)]  # fmt: skip
        out += [
            f"results/benchmarks/sweeps/{t}/{v}.tsv" for t in self.sweep_tasks for v in self.sweep_variants
        ]
        out += [
            f"results/benchmarks/cost/{t}/{v}/{d}.tsv"
            for t in self.cost_tasks
            for v in self.cost_variants
            for d in self.cost_dtypes
        ]
        if any(self.family(t) == "digits" for t in [*self.tasks, *self.sweep_tasks]):
            out.append("results/benchmarks/models/digits_model_quality.tsv")
        return out

    def all_outputs(self) -> list[str]:
        tables = self.table_outputs()
        shown = ("csv", "md", "tex", "claims") + (("oom_md",) if self.cost_tasks else ())
        out = [tables[k] for k in shown] + self.figure_outputs() + ["results/tables/time_per_rule.md"]
        if any(self.family(t) == "digits" for t in [*self.tasks, *self.sweep_tasks]):
            out.append("results/model/model_quality.json")
        return out

    # -- jobs ------------------------------------------------------------------------------------------
    def name_of(self, task: str) -> str:
        """The task name of a config entry's label (a task name is its own)."""
        return self.task_names.get(task, task)

    def family(self, task: str) -> str:
        """The world a task (or label) comes from (``digits``, ``gmm``, ``stable_diffusion``)."""
        return self.catalog[self.name_of(task)]["family"]

    def digits_weights(self) -> list[str]:
        return [
            f"{self.weights}/unet/config.json",
            f"{self.weights}/classifier.pt",
            f"{self.weights}/judge.pt",
        ]

    def task_settings(self, task: str) -> dict:
        """The task's settings from the config: shared task_options it accepts, then its own entry."""
        valid = self.catalog[self.name_of(task)]["options"]
        settings = {k: v for k, v in self.config["task_options"].items() if k in valid}
        entry = dict(self.tasks.get(task) or {})
        settings.update(entry.pop("options", None) or {})
        settings.update(entry)
        if self.family(task) == "digits":
            settings["weights_dir"] = self.weights
        if self.name_of(task).startswith("tiny-sd"):  # built by build_tiny unless the config says
            settings.setdefault("weights_dir", TINY_SD)
            settings.setdefault("reward_dir", TINY_CLIP)
        return settings

    @staticmethod
    def tiny_outputs() -> tuple[str, str]:
        """Where the build_tiny rule writes tiny-sd and the tiny open_clip checkpoints."""
        return TINY_SD, TINY_CLIP

    def inputs(self, task: str) -> list[str]:
        """Files a job of this task reads that a rule of the workflow makes."""
        if self.family(task) == "digits":
            return self.digits_weights()
        if self.name_of(task).startswith("tiny-sd"):
            s = self.task_settings(task)
            return [f"{s['weights_dir']}/model_index.json", f"{s['reward_dir']}/aesthetic_head.pth"]
        return []

    def cost_args(self, task: str, label: str, dtype: str) -> str:
        """The ``sdo-bench cost`` arguments for one task, variant and dtype, every N of ``cost.steps``."""
        v, cost = self.variants[label], self.config["cost"]
        args = ["--task", self.name_of(task), "--method", v.method, "--label", label]
        for key, value in v.options.items():
            args += ["--option", f"{key}={encode(value)}"]
        settings = self.task_settings(task)
        for key in ("steps", "iterations"):
            settings.pop(key, None)
        for key, value in settings.items():
            args += ["--set", f"{key}={encode(value)}"]
        args += ["--steps", *map(str, cost["steps"]), "--dtype", dtype, "--attention", cost["attention"]]
        if cost["batch"]:
            args += ["--batch", str(cost["batch"])]
        return shlex.join(args)

    def job_args(self, task: str, label: str, sweep: bool = False) -> str:
        """The ``sdo-bench run`` (or ``sweep``) arguments for a task and a variant label, but the seed
        and the outputs; values encoded to read back typed (``--set batch=2``, ``--set prompts='["a"]'``)."""
        v = self.variants[label]
        args = ["--task", self.name_of(task), "--method", v.method]
        if self.name_of(task) != task:
            args += ["--task-label", task]
        for key, value in v.options.items():
            args += ["--option", f"{key}={encode(value)}"]
        if v.name:
            args += ["--label", v.name]
        settings = self.task_settings(task)
        for key in ("steps", "iterations"):
            value = settings.pop(key, None)
            if value is not None and not sweep:
                args += [f"--{key}", str(value)]
        for key, value in settings.items():
            args += ["--set", f"{key}={encode(value)}"]
        args += ["--device", self.config["device"], "--dtype", self.config["dtype"]]
        if self.config["memory_budget_bytes"]:
            args += ["--memory-budget-bytes", str(self.config["memory_budget_bytes"])]
        return shlex.join(args)
