"""``truncated``: truncated backpropagation — DRaFT-K (Clark et al., 2024) and AlignProp's random K
(Prabhudesai et al., 2023).

The first ``N - K`` steps run under ``no_grad``; the state is detached and only the last ``K`` steps
``Φ_{N-K} … Φ_{N-1}`` keep their graph. Biased: the gradient ignores how earlier steps depend on the
parameters. With ``k: random`` one K is drawn per gradient, uniformly from ``[k_min, k_max]``
(``k_max`` defaults to N). Costs N network forwards and K backwards.

It gives no gradient to ``x_T`` unless K = N, so on the ``latent`` target a K < N is reported as
``not_applicable``, never as a zero gradient.
"""

from __future__ import annotations

import torch

from .base import NOT_APPLICABLE, GradientMethod, Option, as_int
from .registry import register


@register
class Truncated(GradientMethod):
    name = "truncated"
    benchmark_options = {"k": 1}
    options = {
        "k": Option(1, "number of final steps that keep their graph: an integer 1..N, or 'random'"),
        "k_min": Option(1, "smallest K drawn when k = random"),
        "k_max": Option(None, "largest K drawn when k = random (default N)"),
    }

    @classmethod
    def examples(cls, steps):
        return [{"k": 1}, {"k": steps}]

    def parse_option(self, key, value):
        if key == "k" and value == "random":
            return value
        if key == "k_max" and value is None:
            return None
        v = as_int(key, value, self.name)
        if v < 1:
            raise ValueError(f"option {key} of method 'truncated' must be >= 1 or 'random', got {v}")
        return v

    def check(self, task):
        N = task.steps
        k, lo, hi = self.opts["k"], self.opts["k_min"], self.opts["k_max"]
        if k != "random" and k > N:
            raise ValueError(
                f"option k={k} of method 'truncated' exceeds the number of steps N={N}; "
                f"valid choices: an integer 1..{N} or 'random'"
            )
        if k == "random":
            hi = N if hi is None else hi
            if not 1 <= lo <= hi <= N:
                raise ValueError(
                    f"options k_min={lo}, k_max={hi} of method 'truncated' must satisfy "
                    f"1 <= k_min <= k_max <= N={N}"
                )

    def draw_k(self, task) -> int:
        if self.opts["k"] != "random":
            return self.opts["k"]
        hi = task.steps if self.opts["k_max"] is None else self.opts["k_max"]
        return self.rng(task).randint(self.opts["k_min"], hi)

    def forward(self, task):
        N = task.steps
        K = self.draw_k(task)
        self.info["k"] = K
        if task.target == "latent" and K < N:
            self.info["reason"] = f"truncated with K={K} < N={N} gives no gradient to x_T"
            return NOT_APPLICABLE
        x = task.x_T()
        with torch.no_grad():
            for k in range(N - K):
                x = task.sampler.step(k, x, task.eps(x, k))
        if K < N:
            x = x.detach()
        for k in range(N - K, N):
            x = task.sampler.step(k, x, task.eps(x, k))
        return x
