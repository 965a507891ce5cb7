"""A run record (docs/design.md §6): one :class:`Record` per task x variant x seed, its fields typed and
described here once. The JSON schema in ``sdo_bench/schemas/record.schema.json`` is generated from it
(:func:`schema`; regenerate with ``python -m sdo_bench.pipeline.generate``), and a test checks that the
committed file, the runner and the report's columns all follow this class.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}
_TITLE = "sdo-bench run record (docs/design.md \u00a76)"


def _about(description: str = "", always: bool = True, schema: dict | None = None, **extra) -> dict:
    """A field's description, whether every record has it (``always``), and its JSON schema beyond its type
    (``schema`` replaces the type-derived schema where a union of objects needs it)."""
    return {"description": description, "always": always, "schema": schema, "extra": extra}


#: a time's median and 10th and 90th percentiles over the iterations (seconds)
_SPREAD = {
    "type": "object",
    "required": ["median", "p10", "p90"],
    "properties": {
        "fastest": {
            "type": "number",
            "description": "each iteration at the fastest time an iteration of the same work took, averaged "
            "(experiment.runner.fastest_of_equal_work): what every comparison takes",
        },
        "median": {"type": "number"},
        "p10": {"type": "number"},
        "p90": {"type": "number"},
    },
}


@dataclass(kw_only=True)
class Record:
    """What one run measured: identity first, then time, memory, reward, judge, fidelity, provenance."""

    task: str = field(metadata=_about("task name (docs/design.md §4)"))
    task_label: str = field(
        metadata=_about(
            "the task's name in tables and figures: the config entry's `label` where it has one (e.g. the "
            "same task in the authors' regime), else the task name",
            always=False,
        )
    )
    method: str = field(
        metadata=_about("Registered gradient method name (`sdo_bench.methods.names()`, `sdo-bench list`).")
    )
    variant: str = field(
        metadata=_about(
            "The method variant's label (`sdo_bench.methods.Variant.label`: the method and its options, "
            "e.g. truncated-k=1, or a config's own `label`); tables and figures name the method by it."
        )
    )
    method_options: dict = field(metadata=_about("options as resolved for this task"))
    method_kind: str | None = field(
        default=None,
        metadata=_about(
            "exact | biased | approximate: how the variant's gradient relates to the exact one on this task",
            always=False,
            enum=["exact", "biased", "approximate", None],
        ),
    )
    algorithm: str | None = field(
        default=None,
        metadata=_about(
            "what the variant computes on this task, by construction (GradientMethod.algorithm): rows "
            "that share it give the same gradients and results (checkpoint is bptt; sdo keeping the last "
            "step of a parameter target is truncated-k=1)",
            always=False,
        ),
    )
    seed: int = field(metadata=_about(""))
    steps: int = field(
        metadata=_about(
            "Sampler steps each gradient runs (N, or N - start_step in the authors' regime).", minimum=1
        )
    )
    start_step: int = field(
        metadata=_about(
            "Steps run once under no_grad before the optimized x_s (the authors' regime; 0 = the variable "
            "is x_T).",
            always=False,
            minimum=0,
        )
    )
    batch: int = field(metadata=_about("", minimum=1))
    target: str = field(metadata=_about("", enum=["latent", "condition", "lora", "weights"]))
    model: str = field(metadata=_about("", always=False))
    reward_name: str = field(metadata=_about("", always=False))
    dtype: str = field(metadata=_about(""))
    device: str = field(metadata=_about(""))
    status: str = field(
        default="ok", metadata=_about("", enum=["ok", "oom", "diverged", "not_applicable", "error"])
    )
    error: str | None = field(default=None, metadata=_about(""))
    iterations: int = field(default=0, metadata=_about("updates completed", minimum=0))
    iterations_requested: int = field(metadata=_about("", always=False))
    memory_budget_bytes: int | None = field(metadata=_about("", always=False))
    time_per_iter_s: dict | None = field(
        default=None,
        metadata=_about(
            "",
            schema={"oneOf": [{"type": "null"}, _SPREAD]},
        ),
    )
    compute_time_per_iter_s: dict | None = field(
        default=None,
        metadata=_about(
            "the same iterations on a clock that holds on a shared machine (time_clock: the process's CPU "
            "time on the CPU, CUDA events on a GPU); tables, claims and figures compare this one",
            always=False,
            schema={"oneOf": [{"type": "null"}, _SPREAD]},
        ),
    )
    time_clock: str | None = field(
        default=None,
        metadata=_about(
            "what compute_time_per_iter_s measured", always=False, enum=["process_cpu", "cuda_events", None]
        ),
    )
    time_note: str | None = field(
        default=None,
        metadata=_about("set where wall-clock and CPU time disagree (a busy machine)", always=False),
    )
    forward_s: float | None = field(default=None, metadata=_about(""))
    backward_s: float | None = field(default=None, metadata=_about(""))
    time_sample_s: float | None = field(
        default=None,
        metadata=_about(
            "time of one no-grad sample: the lesser of the two timed (the initial and the final reward's)",
            always=False,
        ),
    )
    time_penalty_s: float | None = field(
        default=None,
        metadata=_about(
            "median time per iteration of the prior's or the regularizer's exact gradient, taken outside "
            "the method (the same for every method) and not counted in time_per_iter_s",
            always=False,
        ),
    )
    peak_tensor_bytes: int | None = field(
        default=None,
        metadata=_about(
            "Primary memory figure: the peak of live tensor bytes (weights, inputs, activations, "
            "gradients, optimizer state) over one dedicated gradient and optimizer step, counted at the "
            "dispatcher (sdo_bench.measure.tracker) on every device; the quantity "
            "torch.cuda.max_memory_allocated reports, less allocator rounding. Deterministic."
        ),
    )
    tensor_memory: dict | None = field(
        default=None,
        metadata=_about(
            "The split of peak_tensor_bytes: weights_bytes (parameters and buffers of the task's modules), "
            "activation_bytes (the rise of live tensor bytes during the gradient), optimizer_state_bytes "
            "(the optimizer's state after one step), and on CUDA cuda_max_allocated_bytes (the allocator's "
            "peak over the same gradient and step).",
            always=False,
            properties={
                "weights_bytes": {"type": ["integer", "null"]},
                "activation_bytes": {"type": ["integer", "null"]},
                "optimizer_state_bytes": {"type": ["integer", "null"]},
                "cuda_max_allocated_bytes": {"type": ["integer", "null"]},
            },
        ),
    )
    peak_memory_bytes: int | None = field(
        default=None,
        metadata=_about(
            "Secondary: peak memory of the first gradient from the device (CUDA allocator maximum) or the "
            "process (RSS high-water mark on the CPU, noisy), see peak_memory_source."
        ),
    )
    peak_memory_delta_bytes: int | None = field(default=None, metadata=_about("", always=False))
    peak_memory_source: str | None = field(
        default=None, metadata=_about("", enum=["cuda_max_allocated", "rss_hwm", "rss_sampled", None])
    )
    graph_bytes: int | None = field(default=None, metadata=_about(""))
    nfe_forward: int | None = field(default=None, metadata=_about(""))
    nfe_backward: int | None = field(default=None, metadata=_about(""))
    reward_init: float | None = field(default=None, metadata=_about(""))
    reward_final: float | None = field(default=None, metadata=_about(""))
    objective_init: float | None = field(
        default=None,
        metadata=_about(
            "the optimized objective at the initial parameters: reward_init - prior_weight * prior_init "
            "- regularizer_weight * regularizer_init (equal to reward_init without either)",
            always=False,
        ),
    )
    objective_final: float | None = field(
        default=None,
        metadata=_about(
            "the objective at the final parameters: reward_final - prior_weight * prior_final "
            "- regularizer_weight * regularizer_final",
            always=False,
        ),
    )
    prior_init: float | None = field(
        default=None,
        metadata=_about(
            "mean prior penalty R(x_T) (sdo_bench.tasks.priors) at the initial x_T; 0 without a prior",
            always=False,
        ),
    )
    prior_final: float | None = field(
        default=None, metadata=_about("mean prior penalty at the final x_T", always=False)
    )
    regularizer_init: float | None = field(
        default=None,
        metadata=_about(
            "the regularizer R(θ) (sdo_bench.tasks.regularizers: kl, pretrain) at the initial parameters of "
            "a condition, lora or weights task; null without one",
            always=False,
        ),
    )
    regularizer_final: float | None = field(
        default=None, metadata=_about("the regularizer R(θ) at the final parameters", always=False)
    )
    reward_curve: list = field(
        default_factory=list,
        metadata=_about("reward of each iterate, the final last", items={"type": ["number", "null"]}),
    )
    elapsed_s: list = field(
        default_factory=list,
        metadata=_about("wall-clock seconds before each iterate", always=False, items={"type": "number"}),
    )
    compute_s: list = field(
        default_factory=list,
        metadata=_about(
            "each iteration's compute time (time_clock), in order: what compute_time_per_iter_s summarizes",
            always=False,
            items={"type": "number"},
        ),
    )
    reward_heldout_init: float | None = field(
        default=None,
        metadata=_about("mean reward on the task's held-out noises (lora, weights targets)", always=False),
    )
    reward_heldout_final: float | None = field(
        default=None, metadata=_about("as reward_heldout_init, after optimization", always=False)
    )
    judge: dict | None = field(default=None, metadata=_about(""))
    grad_cosine_vs_exact: float | None = field(default=None, metadata=_about(""))
    grad_relnorm_vs_exact: float | None = field(default=None, metadata=_about("", always=False))
    fidelity_note: str | None = field(default=None, metadata=_about("", always=False))
    gradient_info: list = field(default_factory=list, metadata=_about("", always=False))
    provenance: dict = field(
        metadata=_about(
            "",
            required=["git_commit", "versions", "device_name", "config_hash", "start_time"],
            properties={
                "git_commit": {"type": "string"},
                "versions": {"type": "object"},
                "device_name": {"type": "string"},
                "config_hash": {"type": "string"},
                "start_time": {"type": "string"},
                "task_settings": {"type": ["object", "null"]},
                "job": {
                    "type": "object",
                    "description": "the job spec this run belonged to (sdo_bench.spec.job.RunJob: task, "
                    "settings, variants, seeds, outputs), where it ran as part of one",
                },
            },
        )
    )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _types(annotation) -> list[str]:
    hints = typing.get_type_hints(Record)
    t = hints[annotation] if isinstance(annotation, str) else annotation
    args = typing.get_args(t) if isinstance(t, types.UnionType) else (t,)
    return [("null" if a is type(None) else _JSON_TYPES[typing.get_origin(a) or a]) for a in args]


def schema() -> dict:
    """The record's JSON schema, from :class:`Record`'s fields."""
    properties, required = {}, []
    for f in dataclasses.fields(Record):
        about = f.metadata
        prop = dict(about["schema"]) if about["schema"] else {}
        if not about["schema"]:
            t = _types(f.name)
            prop["type"] = t[0] if len(t) == 1 else t
        prop.update(about["extra"])
        if about["description"]:
            prop["description"] = about["description"]
        properties[f.name] = prop
        if about["always"]:
            required.append(f.name)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": _TITLE,
        "type": "object",
        "required": required,
        "properties": properties,
    }


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Record)]
