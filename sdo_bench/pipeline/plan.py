"""What the Snakemake workflow asks the library: one :class:`Plan` per validated config.

``workflow/rules/common.smk`` builds ``Plan(config)`` in-process and takes from it the method variants
and their labels, the tasks and their settings, the config check (:mod:`.workflow_check`: a typo stops
the workflow before any job starts, naming the config key and the valid choices), the output files
(expanded from the patterns of :mod:`.outputs`, the same the rules declare) and each job's
command-line arguments, with every config value encoded once (:mod:`.values`) so that it reaches the
job with its type. The files a task family needs built come from its own declaration
(:class:`sdo_bench.tasks.WorkflowFiles`), never from its name.

Checking a config needs the task and method registries, which import torch (2-3 s). On a cluster every
job parses the workflow again in its own Snakemake (SLURM's jobstep), so the submitting Snakemake
saves what the registries told it (:meth:`Plan.save`: each task's options and workflow files, the
variants) and a job's Snakemake reads that back (:meth:`Plan.for_job`) for the same config, without
importing torch or checking again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

from ..spec import outputs as out
from ..spec.job import RunJob
from ..spec.settings import target_of
from ..spec.values import encode
from ..spec.variant import Variant
from .config_check import check, validate

__all__ = ["PLAN_FILE", "Plan", "validate"]

#: where the submitting Snakemake saves the checked plan for its jobs' own Snakemakes
PLAN_FILE = Path(".snakemake") / "sdo-bench-plan.json"


class Plan:
    """The runs, sweeps and outputs of one config, validated against ``workflow/schemas/
    config.schema.yaml`` first (Snakemake's ``validate`` fills in the schema's defaults)."""

    def __init__(self, config: dict, saved: dict | None = None):
        """``saved``: what :meth:`save` wrote for this config (no check, no registry); else the
        registries are asked and the config checked (``ValueError`` naming the key)."""
        self.config = config
        entries = {e.get("label") or e["task"]: e for e in config["tasks"]}
        #: config entries by label (the task name unless the entry sets `label`)
        self.tasks = {
            label: {k: v for k, v in e.items() if k not in ("task", "label", "methods")}
            for label, e in entries.items()
        }
        self.task_names = {label: e["task"] for label, e in entries.items()}
        self.task_methods = {label: e.get("methods") for label, e in entries.items()}
        self.weights = config["weights_dir"]
        self.seeds = list(config["seeds"])
        #: the targets each variant runs on (None: every one), by label
        self.variant_targets = {Variant.from_config(e).label: e.get("targets") for e in config["methods"]}
        if saved is None:
            #: each task name's option names and workflow files (:func:`.workflow_check.catalog`)
            self.catalog: dict[str, dict] = {}
            #: the targets each variant can give a gradient to (GradientMethod.applies_to), by label
            self.applies: dict[str, list[str]] = {}
            self.variants = check(self)
        else:
            self.catalog = saved["tasks"]
            self.variants = {label: Variant(**v) for label, v in saved["variants"].items()}
            self.applies = saved["applies"]
        sweeps = config["sweeps"]
        self.sweep_tasks = list(sweeps["tasks"])
        self.sweep_steps = list(sweeps["steps"])
        self.sweep_variants = list(sweeps["methods"] or self.variants)
        self.reference = config["report"]["reference_method"]
        cost = config["cost"]
        self.cost_tasks = list(cost["tasks"])
        self.cost_variants = list(cost["methods"] or self.variants)
        self.cost_dtypes = list(cost["dtypes"])
        self.cost_check = config["cost_check"]

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
            "applies": self.applies,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))  # in order: the variants keep the config's
        os.replace(tmp, path)

    @classmethod
    def unchecked(cls, config: dict) -> Plan:
        """The plan where the registries cannot be imported (only Snakemake installed: a lint or format
        check): names and options from the shipped catalog, the config checked against its schema only."""
        from .config_check import unchecked

        return cls(config, unchecked(config))

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

    # -- what runs -------------------------------------------------------------------------------------
    def runs_on(self, task: str, label: str) -> bool:
        """Whether variant ``label`` runs on task entry ``task``: the entry's `methods` and the variant's
        `targets` allow it."""
        targets = self.variant_targets.get(label)
        target = target_of(self.name_of(task))
        if targets is not None and target not in targets:
            return False
        if target not in self.applies.get(label, [target]):
            return False  # not_applicable by construction: no job
        return label in (self.task_methods[task] or self.variant_targets)

    def run_jobs(self) -> list[tuple[str, str]]:
        """(task or label, variant label) of every run job, in config order."""
        return [(t, v) for t in self.tasks for v in self.variants if self.runs_on(t, v)]

    def sweep_jobs(self) -> list[tuple[str, str]]:
        """(task, variant) of every sweep job: the variants that apply to the task's target."""
        return [
            (t, v)
            for t in self.sweep_tasks
            for v in self.sweep_variants
            if target_of(self.name_of(t)) in self.applies.get(v, [target_of(self.name_of(t))])
        ]

    def sweep_task_variants(self, task: str) -> list[str]:
        """The variant labels swept on task ``task`` (one job sweeps them all), in config order."""
        return [v for t, v in self.sweep_jobs() if t == task]

    def sweep_task_outputs(self, task: str, pattern: str = out.SWEEP_RECORD) -> list[str]:
        """The records of one task's sweep job: variant by variant, each N in the order of
        ``sweeps.steps`` (the order of its ``--out``)."""
        return [
            pattern.format(task=task, variant=v, steps=n)
            for v in self.sweep_task_variants(task)
            for n in self.sweep_steps
        ]

    def cost_jobs(self) -> list[tuple[str, str, str]]:
        """(task, variant, dtype) of every cost job: the variants that apply to the task's target."""
        return [
            (t, v, d)
            for t in self.cost_tasks
            for v in self.cost_variants
            if target_of(t) in self.applies.get(v, [target_of(t)])
            for d in self.cost_dtypes
        ]

    def workflow_files(self, task: str) -> dict:
        """The task's declaration of what the workflow builds for it (empty where it needs nothing)."""
        return self.catalog[self.name_of(task)]["workflow"] or {}

    def family_outputs(self) -> list[str]:
        """The families' own outputs (:data:`.outputs.FAMILY_OUTPUTS`) of every planned task, once each."""
        names = [
            n for t in [*self.tasks, *self.sweep_tasks] for n in self.workflow_files(t).get("outputs", ())
        ]
        return list(dict.fromkeys(names))

    # -- outputs ---------------------------------------------------------------------------------------
    def run_records(self) -> list[str]:
        return [
            out.RUN_RECORD.format(task=t, variant=v, seed=s) for t, v in self.run_jobs() for s in self.seeds
        ]

    def task_variants(self, task: str) -> list[str]:
        """The variant labels that run on task entry ``task`` (one job runs them all), in config order."""
        return [v for t, v in self.run_jobs() if t == task]

    def task_outputs(self, task: str, pattern: str = out.RUN_RECORD) -> list[str]:
        """The records (or, with ``pattern``, the samples) of one task's job: variant by variant, each
        seed in the order of ``seeds`` (the order of its ``--out``)."""
        return [
            pattern.format(task=task, variant=v, seed=s) for v in self.task_variants(task) for s in self.seeds
        ]

    def sweep_records(self) -> list[str]:
        return [
            out.SWEEP_RECORD.format(task=t, variant=v, steps=n)
            for t, v in self.sweep_jobs()
            for n in self.sweep_steps
        ]

    def cost_records(self) -> list[str]:
        return [out.COST_ROWS.format(task=t, variant=v, dtype=d) for t, v, d in self.cost_jobs()]

    def cost_check_records(self) -> list[str]:
        """The checked rows (``sdo-bench cost --check``) of every cost job, where ``cost_check`` is on."""
        if not self.cost_check["enabled"]:
            return []
        return [out.COST_CHECK_ROWS.format(task=t, variant=v, dtype=d) for t, v, d in self.cost_jobs()]

    def figure_outputs(self, kinds: bool = False) -> list:
        """The figures (``kinds``: as ``(path, kind, task)``)."""
        return out.figures(list(self.tasks), self.sweep_tasks, self.cost_tasks, kinds=kinds)

    def table_outputs(self) -> dict[str, str]:
        keys = [*out.TABLES, *(out.COST_TABLES if self.cost_tasks else {})]
        keys += list(out.CHECK_TABLES) if self.cost_check_records() else []
        return {key: out.table(key) for key in keys}

    def write_progress(self) -> None:
        """The planned records of each family, for ``sdo-bench progress`` (:mod:`.progress`)."""
        from .progress import write_plan

        write_plan({"runs": self.run_records(), "sweeps": self.sweep_records(), "cost": self.cost_records()})

    def benchmark_files(self) -> list[str]:
        """The ``benchmark:`` files of the run, sweep, cost and model jobs (what ``time_per_rule`` sums)."""
        files = [out.BENCHMARK_RUN.format(task=t) for t in self.tasks if self.task_variants(t)]
        files += [out.BENCHMARK_SWEEP.format(task=t) for t in self.sweep_tasks if self.sweep_task_variants(t)]
        cost_tasks = list(dict.fromkeys(t for t, _, _ in self.cost_jobs()))
        files += [out.BENCHMARK_COST.format(task=t) for t in cost_tasks]
        files += [out.BENCHMARK_COST_CHECK.format(task=t) for t in cost_tasks if self.cost_check["enabled"]]
        files += [out.BENCHMARK_MODEL.format(rule=out.FAMILY_OUTPUTS[n][0]) for n in self.family_outputs()]
        return files

    def all_outputs(self) -> list[str]:
        tables = self.table_outputs()
        shown = ("csv", "md", "tex", "claims") + (("oom_md",) if self.cost_tasks else ())
        shown += ("cost_check_md",) if self.cost_check_records() else ()
        files = [tables[k] for k in shown] + self.figure_outputs() + [out.table("time_md")]
        return files + [out.FAMILY_OUTPUTS[n][1]["json"] for n in self.family_outputs()]

    # -- jobs ------------------------------------------------------------------------------------------
    def name_of(self, task: str) -> str:
        """The task name of a config entry's label (a task name is its own)."""
        return self.task_names.get(task, task)

    def task_settings(self, task: str) -> dict:
        """The task's settings from the config: shared task_options it accepts, then its own entry, then
        the directories its workflow files live in (:class:`sdo_bench.tasks.WorkflowFiles`)."""
        valid = self.catalog[self.name_of(task)]["options"]
        settings = {k: v for k, v in self.config["task_options"].items() if k in valid}
        entry = dict(self.tasks.get(task) or {})
        settings.update(entry.pop("options", None) or {})
        settings.update(entry)
        for key, where in self.built_dirs(task).items():
            settings.setdefault(key, where)
        return settings

    def built_dirs(self, task: str) -> dict[str, str]:
        """Where the workflow's rules build the directories the task's declaration names (setting ->
        path; ``{key}`` in a declaration takes the config's ``key``)."""
        return {
            k: where.format(**self.config)
            for k, where in self.workflow_files(task).get("defaults", {}).items()
        }

    def built(self, task: str) -> tuple[str, ...]:
        """The task's path settings that point where a workflow rule builds them (not there yet at
        config time)."""
        settings = self.task_settings(task)
        return tuple(k for k, where in self.built_dirs(task).items() if settings.get(k) == where)

    def inputs(self, task: str) -> list[str]:
        """Files a job of this task reads that a rule of the workflow makes."""
        settings = self.task_settings(task)
        return [
            f"{settings[k]}/{f}"
            for k, files in self.workflow_files(task).get("inputs", {}).items()
            for f in files
        ]

    def _settings_args(self, task: str, drop=("steps", "iterations"), **also) -> list[str]:
        args = []
        for key, value in dict(self.task_settings(task), **also).items():
            if key not in drop:
                args += ["--set", f"{key}={encode(value)}"]
        return args

    def _task_variants_args(self, task: str, labels: list[str], labelled: bool) -> list[str]:
        """``--task NAME --variants JSON`` for the variants ``labels`` (``labelled``: every variant with
        its label; else only those a config names)."""
        variants = []
        for label in labels:
            v = self.variants[label]
            name = label if labelled else v.name
            variants.append({"method": v.method, "options": v.options, **({"label": name} if name else {})})
        return ["--task", self.name_of(task), "--variants", json.dumps(variants, separators=(",", ":"))]

    def cost_variants_of(self, task: str) -> list[str]:
        """The labels of the variants the cost model predicts on ``task`` (those that apply to it)."""
        return list(dict.fromkeys(v for t, v, _ in self.cost_jobs() if t == task))

    def cost_args(self, task: str, dtype: str, check: bool = False) -> str:
        """The ``sdo-bench cost`` arguments for one task at one dtype: every variant that applies to it
        (``--variants``, the models built once for all of them), every N of ``cost.steps``; all but the
        outputs (one rows file per variant, in that order). ``check``: the same rows at each N of
        ``cost_check.steps``, checked on ``cost_check.device`` (``--check``)."""
        cost = dict(self.config["cost"])
        if check:
            c = self.cost_check
            cost["steps"] = c["steps"]
        args = self._task_variants_args(task, self.cost_variants_of(task), labelled=True)
        # the prediction's own axes come from the cost grid (batch too, where the grid sets one)
        drop = ("steps", "iterations", "dtype", "device", *(("batch",) if cost["batch"] else ()))
        args += self._settings_args(task, drop)
        args += ["--steps", *map(str, cost["steps"]), "--dtype", dtype, "--attention", cost["attention"]]
        if cost["batch"]:
            args += ["--batch", str(cost["batch"])]
        if cost["extrapolate"]:
            args += ["--extrapolate"]
        if check:
            args += ["--check", "--check-device", c["device"], "--check-iterations", str(c["iterations"])]
        return shlex.join(args)

    def run_spec(self, task: str) -> RunJob:
        """The job of one task entry (:class:`~sdo_bench.spec.job.RunJob`): every variant that runs on
        it, every seed, its settings with their types, and its outputs (records, samples, kept copies),
        as the runs rule declares them."""
        labels = self.task_variants(task)
        settings = dict(self.task_settings(task), device=self.config["device"], dtype=self.config["dtype"])
        return RunJob(
            task=self.name_of(task),
            task_label=task if self.name_of(task) != task else None,
            settings=settings,
            variants=tuple(
                Variant(self.variants[v].method, self.variants[v].options, self.variants[v].name)
                for v in labels
            ),  # fmt: skip
            seeds=tuple(self.seeds),
            outs=tuple(self.task_outputs(task, out.RUN_RECORD)),
            samples_outs=tuple(self.task_outputs(task, out.RUN_SAMPLES)),
            keep_dir=out.RUN_KEPT.format(task=task),
            memory_budget_bytes=self.config["memory_budget_bytes"] or None,
        )

    def task_job_args(self, task: str, sweep: bool = False) -> str:
        """The ``sdo-bench run`` (or, ``sweep``, ``sdo-bench sweep``) arguments of one task's job: every
        variant that runs (or is swept) on it as ``--variants``, every task setting once as ``--set
        KEY=VALUE`` encoded to read back typed (``--set batch=2``, ``--set prompts='["a"]'``); all but
        the seeds, a sweep's N and the outputs."""
        labels = self.sweep_task_variants(task) if sweep else self.task_variants(task)
        args = self._task_variants_args(task, labels, labelled=False)
        if self.name_of(task) != task:
            args += ["--task-label", task]
        drop = ("steps", "iterations") if sweep else ()
        args += self._settings_args(task, drop, device=self.config["device"], dtype=self.config["dtype"])
        if self.config["memory_budget_bytes"]:
            args += ["--memory-budget-bytes", str(self.config["memory_budget_bytes"])]
        return shlex.join(args)
