"""One run job, described once: the task, its label, its settings, the variants, the seeds, the memory
budget and every output file. The workflow's :class:`~sdo_bench.pipeline.plan.Plan` builds one per task
entry and hands it to its job as ``sdo-bench run --spec JSON``; a person at a terminal gives the same
thing as flags (``--task``, ``--set``, ``--method``/``--variants``, ``--seeds``, ``--out``), which the
command line turns into a :class:`RunJob` too. The job checks it once (:func:`sdo_bench.experiment.run_job`)
and stores it in each record's provenance (``provenance.job``).

Torch-free: the shape of a job (types, one output per variant and seed, distinct seeds and labels) is
checked here; what a setting or option may be is checked by its owner when the job starts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from .settings import MAX_SEED, TASK_LABEL, VARIANT_LABEL, integer, label
from .variant import Variant, from_list

#: the keys of a job's JSON form, each with what it must hold
FIELDS = {
    "task": "a task name (`sdo-bench list`)",
    "task_label": "the task's name in tables, or null",
    "settings": "an object of task settings (`sdo-bench list`), without seed",
    "variants": 'a non-empty list of {"method": ..., "options": {...}, "label": ...}',
    "seeds": "a non-empty list of distinct seeds (integers >= 0)",
    "outs": "one record path per variant and seed, variant by variant",
    "samples_outs": "null, or one .npz path per variant and seed",
    "keep_dir": "null, or a folder for copies of finished runs",
    "log_dir": "null, or a folder for TensorBoard runs",
    "memory_budget_bytes": "null, or an integer >= 1",
    "fidelity": "true or false: compare the first gradient with bptt's",
}


@dataclass(frozen=True)
class RunJob:
    task: str
    variants: tuple[Variant, ...]
    seeds: tuple[int, ...]
    outs: tuple[str, ...]
    settings: dict = field(default_factory=dict)
    task_label: str | None = None
    samples_outs: tuple[str, ...] | None = None
    keep_dir: str | None = None
    log_dir: str | None = None
    memory_budget_bytes: int | None = None
    fidelity: bool = True

    def __post_init__(self):
        """The job's shape (``ValueError`` naming the field): one output per variant and seed, each seed
        and label once, ``seed`` given by ``seeds`` only."""
        if not isinstance(self.task, str) or not self.task:
            raise ValueError(f"job field task: {FIELDS['task']}, got {self.task!r}")
        if not self.variants or not all(isinstance(v, Variant) for v in self.variants):
            raise ValueError(f"job field variants: {FIELDS['variants']}")
        labels = [v.label for v in self.variants]
        for v in labels:
            label("variant label", v, VARIANT_LABEL)
        if self.task_label is not None:
            label("task label", self.task_label, TASK_LABEL)
        if len(set(labels)) != len(labels):
            raise ValueError(f"variants {labels} name a variant twice; give each its own label")
        if not self.seeds:
            raise ValueError(f"job field seeds: {FIELDS['seeds']}")
        for seed in self.seeds:
            integer("seed", seed, least=0, most=MAX_SEED)
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds {list(self.seeds)} list a seed twice; give each seed once")
        if not isinstance(self.settings, dict):
            raise ValueError(f"job field settings: {FIELDS['settings']}")
        if "seed" in self.settings:
            raise ValueError("give the seed once: --seed/--seeds (job field seeds), not --set seed=")
        n = len(self.variants) * len(self.seeds)
        for key in ("outs", "samples_outs"):
            paths = getattr(self, key)
            if paths is None and key == "samples_outs":
                continue
            if not isinstance(paths, tuple) or not all(isinstance(p, str) for p in paths):
                raise ValueError(f"job field {key}: {FIELDS[key]}")
            if len(paths) != n:
                flag = "--out" if key == "outs" else "--samples-out"
                raise ValueError(
                    f"give one output per variant and seed: {len(self.variants)} variants x "
                    f"{len(self.seeds)} seeds, {len(paths)} {flag}"
                )
        if self.memory_budget_bytes is not None:
            integer("memory_budget_bytes", self.memory_budget_bytes, least=1)
        if not isinstance(self.fidelity, bool):
            raise ValueError(f"job field fidelity: {FIELDS['fidelity']}, got {self.fidelity!r}")

    def runs(self):
        """``(variant, [(seed, out, samples_out), ...])`` per variant, in order."""
        n = len(self.seeds)
        samples = self.samples_outs or (None,) * len(self.outs)
        for i, v in enumerate(self.variants):
            part = slice(i * n, (i + 1) * n)
            yield v, list(zip(self.seeds, self.outs[part], samples[part]))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["variants"] = [
            {"method": v.method, "options": dict(v.options), "label": v.name} for v in self.variants
        ]
        for key in ("seeds", "outs", "samples_outs"):
            d[key] = None if d[key] is None else list(d[key])
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d) -> RunJob:
        """From the JSON form (``ValueError`` naming the field that is missing, unknown or mistyped)."""
        if not isinstance(d, dict):
            raise ValueError("a job spec is a JSON object with the keys " + ", ".join(FIELDS))
        unknown = sorted(set(d) - set(FIELDS))
        if unknown:
            raise ValueError(
                f"job spec: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(FIELDS)}"
            )
        for key in ("task", "variants", "seeds", "outs"):
            if key not in d:
                raise ValueError(f"job spec: key {key!r} is missing ({FIELDS[key]})")
        variants = from_list(d["variants"], "job field variants")
        kw = {k: d[k] for k in FIELDS if k in d and k != "variants"}
        for key in ("seeds", "outs", "samples_outs"):
            if kw.get(key) is not None:
                if not isinstance(kw[key], list):
                    raise ValueError(f"job field {key}: {FIELDS[key]}")
                kw[key] = tuple(kw[key])
        return cls(variants=tuple(variants), **kw)

    @classmethod
    def from_json(cls, text: str) -> RunJob:
        try:
            d = json.loads(text)
        except ValueError as e:
            raise ValueError(f"--spec is not JSON ({e})") from None
        return cls.from_dict(d)
