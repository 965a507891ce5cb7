"""What every gradient method shares: options, the result type, and the forward/backward frame.

A method implements :meth:`GradientMethod.forward`, which runs the sampler from ``task.x_T()`` and
returns the final state ``x_N`` with whatever graph the method keeps (or :data:`NOT_APPLICABLE`).
:meth:`GradientMethod.gradient` wraps it: counts network evaluations and graph bytes, takes the reward
of the decoded ``x_N`` and differentiates it with respect to ``task.parameters()``.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from ..measure.counters import GraphBytes, scalar, synchronizer

NOT_APPLICABLE = object()
#: (method, options, task shape) already checked in this process (:meth:`GradientMethod.check_once`)
_CHECKED: set = set()


@dataclass
class GradientResult:
    status: str  # "ok" | "not_applicable"
    reward: float  # mean reward of the sample the gradient was taken at
    grads: list[torch.Tensor] | None  # gradient of the mean REWARD (ascent), aligned with parameters()
    nfe_forward: int
    nfe_backward: int
    graph_bytes: int | None = None  # bytes saved for backward (None when not measured)
    forward_s: float = float("nan")
    backward_s: float = float("nan")
    reason: str | None = None  # why not applicable
    info: dict = field(default_factory=dict)  # per-gradient choices (e.g. the K or step drawn)


@dataclass(frozen=True)
class Option:
    default: Any
    help: str


class GradientMethod:
    """Base class. Subclasses set ``name``, ``options`` and implement ``forward``.

    ``examples(N)`` are the option sets ``sdo-bench gradcheck`` compares with ``bptt``;
    ``benchmark_options`` the one set ``sdo-bench regress`` times (its baseline keys)."""

    name: str = ""
    #: how its gradient relates to the exact one: exact | biased (a known part of the chain rule
    #: dropped) | approximate (a different estimator: one step's graph, a discretized adjoint)
    kind: str = "approximate"
    options: dict[str, Option] = {}
    benchmark_options: dict = {}
    #: what its gradient keeps in memory besides the weights (the cost model's rows say it)
    keeps: str = ""

    @classmethod
    def examples(cls, steps: int) -> list[dict]:
        return [dict(cls.benchmark_options)]

    @classmethod
    def summary(cls) -> str:
        """The first line of the method module's docstring."""
        import sys

        doc = sys.modules[cls.__module__].__doc__ or cls.__doc__ or ""
        return " ".join(doc.strip().split("\n\n")[0].split()).removeprefix(f"``{cls.name}``: ")

    def __init__(self, **options):
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            valid = ", ".join(sorted(self.options)) or "(none)"
            raise ValueError(
                f"unknown option(s) {', '.join(unknown)} for method {self.name!r}; valid options: {valid}"
            )
        self.opts = {k: o.default for k, o in self.options.items()}
        self.opts.update({k: self.parse_option(k, v) for k, v in options.items()})
        self._rng: random.Random | None = None
        self.info: dict = {}

    def parse_option(self, key: str, value):
        """Validate and convert one option value (strings from the command line included)."""
        return value

    def check(self, task) -> None:
        """Validate the options against a task (e.g. against its number of steps N)."""

    def check_once(self, task) -> None:
        """:meth:`check`, once per process for this method, these options and a task of this shape (its
        name, N, start step, target and batch: all a check reads). A job checks each variant once, not
        on every gradient; the answer cannot change between two tasks of one shape."""
        key = (
            type(self),
            json.dumps(self.opts, sort_keys=True, default=str),
            task.name,
            task.steps,
            getattr(task.sampler, "start_step", 0),
            task.target,
            getattr(task, "batch", None),
        )
        if key in _CHECKED:
            return
        self.check(task)
        _CHECKED.add(key)

    def rng(self, task) -> random.Random:
        """Per-method random stream for per-iteration draws, seeded from the task's seed."""
        if self._rng is None:
            self._rng = random.Random(1_000_003 * int(task.seed) + 17)
        return self._rng

    def forward(self, task):
        raise NotImplementedError

    def resolved_options(self, task=None) -> dict:
        return dict(self.opts)

    def applies_to(self, target: str) -> bool:
        """Whether the variant can give ``target`` (latent | condition | lora | weights) a gradient at
        all; where it cannot, its gradient is ``not_applicable`` and the workflow plans no run of it."""
        return True

    def affine_cost(self) -> bool:
        """Whether one gradient's cost (bytes, FLOPs, network evaluations) is, by construction, an affine
        function of N: the same work for every step, and no N-dependent or random choice of how many
        steps keep their graph. The cost model extrapolates only these (and checks the line at N =
        1, 2, 3 or 2, 3, 4 first)."""
        return False

    def kind_on(self, task) -> str:
        """:attr:`kind` on ``task``: exact wherever the variant is ``bptt`` by construction."""
        return "exact" if self.algorithm(task) == "bptt" else self.kind

    def algorithm(self, task) -> str:
        """What this variant computes on ``task``, by construction: two variants with the same
        ``algorithm`` give the same gradients, and so the same results (their cost may differ). By
        default the method and its resolved options; a method that *is* another one on some target
        returns that one's (``checkpoint`` is ``bptt`` recomputed; ``sdo`` keeping the last step of a
        parameter target is ``truncated`` with k = 1). Records keep it; tables mark the rows that share
        it, and figures draw their curves once (tests check each identity)."""
        opts = self.resolved_options(task)
        return self.name + "".join(f"-{k}={v}" for k, v in sorted(opts.items()))

    def gradient(self, task, measure_graph: bool = True) -> GradientResult:
        self.check_once(task)
        self.info = {}
        params = task.parameters()
        task.network.reset_counts()
        sync = synchronizer(task.device)
        sync()
        t0 = time.perf_counter()
        with GraphBytes(enabled=measure_graph) as saved:
            x_N = self.forward(task)
            if x_N is NOT_APPLICABLE:
                return GradientResult(
                    "not_applicable",
                    float("nan"),
                    None,
                    task.network.nfe_forward,
                    task.network.nfe_backward,
                    None,
                    reason=self.info.pop("reason", None),
                    info=dict(self.info),
                )
            reward = task.reward_per_sample(x_N).mean()
        sync()
        t1 = time.perf_counter()
        # no graph reaches the parameters (e.g. a random rule that kept no step): a zero gradient
        grads = (
            torch.autograd.grad(reward, params, allow_unused=True)
            if reward.requires_grad
            else [None] * len(params)
        )
        sync()
        t2 = time.perf_counter()
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
        return GradientResult(
            "ok",
            scalar(reward),
            grads,
            task.network.nfe_forward,
            task.network.nfe_backward,
            saved.bytes if measure_graph else None,
            forward_s=t1 - t0,
            backward_s=t2 - t1,
            info=dict(self.info),
        )

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.opts.items())
        return f"{type(self).__name__}({opts})"


def as_int(key: str, value, method: str) -> int:
    """An integer option, accepting its decimal string form; a clear error otherwise."""
    if isinstance(value, bool):
        raise ValueError(f"option {key} of method {method!r} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"option {key} of method {method!r} must be an integer, got {value!r}")
