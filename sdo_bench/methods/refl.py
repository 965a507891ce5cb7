"""``refl``: ReFL — reward feedback learning of ImageReward (Xu et al., NeurIPS 2023, arXiv 2304.05977).

Sampling runs under ``no_grad`` to a random late step ``k`` (uniform in ``[k_min, k_max]``, default the
last quarter of the N steps, as ReFL draws t from the last 10 of 40 steps); then one network call keeps
its graph, and its *predicted* clean sample is decoded and scored::

    x̂_0 = (x_k - sqrt(1 - ᾱ_k) · ε(x_k, t_k, c; θ)) / sqrt(ᾱ_k)

Biased (one network Jacobian, at a partly denoised input, and the reward of a one-step prediction
rather than of the sample); costs k + 1 network forwards and 1 backward. Not applicable to the
``latent`` target: ``x_k`` is computed under ``no_grad``. With ``k_min = k_max = N - 1`` on a schedule
whose last step lands on ᾱ = 1, x̂_0 is exactly the sampler's last step, so ``refl`` equals
``sdo`` with ``step: last`` — a test.
"""

from __future__ import annotations

import torch

from .base import NOT_APPLICABLE, GradientMethod, Option, as_int
from .registry import register


@register
class ReFL(GradientMethod):
    name = "refl"
    keeps = "one step's activations (the one-step prediction at step k)"
    kind = "biased"
    benchmark_options = {}
    options = {
        "k_min": Option(None, "earliest step index drawn (default: N - N // 4)"),
        "k_max": Option(None, "latest step index drawn (default: N - 1)"),
    }

    def applies_to(self, target: str) -> bool:
        return target != "latent"  # x_T never meets the graph (a no-grad chain to a late step)

    def parse_option(self, key, value):
        if value is None:
            return None
        v = as_int(key, value, self.name)
        if v < 0:
            raise ValueError(f"option {key} of method 'refl' must be >= 0, got {v}")
        return v

    def bounds(self, task) -> tuple[int, int]:
        N = task.steps
        lo = N - max(1, N // 4) if self.opts["k_min"] is None else self.opts["k_min"]
        hi = N - 1 if self.opts["k_max"] is None else self.opts["k_max"]
        return lo, hi

    def check(self, task):
        lo, hi = self.bounds(task)
        if not 0 <= lo <= hi <= task.steps - 1:
            raise ValueError(
                f"options k_min={lo}, k_max={hi} of method 'refl' must satisfy 0 <= k_min <= k_max <= N-1 "
                f"= {task.steps - 1}"
            )

    def forward(self, task):
        if task.target == "latent":
            self.info["reason"] = "refl samples x_k under no_grad: x_T gets no gradient"
            return NOT_APPLICABLE
        k = self.rng(task).randint(*self.bounds(task))
        self.info["step"] = k
        with torch.no_grad():
            x = task.x_T()
            for j in range(k):
                x = task.sampler.step(j, x, task.eps(x, j))
        return task.sampler.predict_x0(k, x, task.eps(x, k))
