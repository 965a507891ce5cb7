"""``bptt``: full backpropagation through time — the exact gradient.

Every step ``x_{k+1} = Φ_k(x_k) = a_k x_k + b_k ε(x_k, t_k, c; θ)`` keeps its autograd graph, and
``∇ R(decode(x_N))`` is taken through all N steps. Exact; costs N network forwards and N backwards and
holds the activations of all N steps.
"""

from __future__ import annotations

from .base import GradientMethod
from .registry import register


@register
class BPTT(GradientMethod):
    name = "bptt"
    keeps = "every step's activations (N steps)"
    kind = "exact"

    def affine_cost(self) -> bool:
        return True

    options = {}

    def forward(self, task):
        x = task.x_T()
        for k in range(task.steps):
            x = task.sampler.step(k, x, task.eps(x, k))
        return x
