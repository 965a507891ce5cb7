"""``checkpoint``: backpropagation through time with per-step gradient checkpointing.

Each step ``Φ_k`` — the whole network call with its affine update — runs inside
``torch.utils.checkpoint.checkpoint(use_reentrant=False)``: its activations are dropped after the forward
and recomputed during backward. Exact (equal to ``bptt`` up to rounding); costs 2N network forwards and N
backwards, and holds the N step inputs ``x_k`` plus the activations of one step at a time.
"""

from __future__ import annotations

from torch.utils.checkpoint import checkpoint

from ..measure.counters import note_saved
from .base import GradientMethod
from .registry import register


def _phi(task, k, x_k):
    return task.sampler.step(k, x_k, task.eps(x_k, k))


@register
class Checkpoint(GradientMethod):
    name = "checkpoint"
    keeps = "the N step inputs, and one step's activations at a time in the backward"
    kind = "exact"

    def affine_cost(self) -> bool:
        return True

    options = {}

    def algorithm(self, task) -> str:
        return "bptt"  # the same gradient, each step recomputed in backward

    def forward(self, task):
        x = task.x_T()
        for k in range(task.steps):
            note_saved(x)  # the input kept for recomputing Φ_k in backward
            x = checkpoint(_phi, task, k, x, use_reentrant=False)
        return x
