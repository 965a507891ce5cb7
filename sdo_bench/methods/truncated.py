"""``truncated``: truncated backpropagation — DRaFT-K (Clark et al., 2024) and AlignProp (Prabhudesai
et al., 2023), as their papers describe it and as AlignProp's released code runs it.

Contiguous suffix (``k``: an integer, ``random``): the first ``N - K`` steps run under ``no_grad``; the
state is detached and only the last ``K`` steps ``Φ_{N-K} … Φ_{N-1}`` keep their graph (DRaFT-K; with
``k: random`` one K per gradient, uniform in ``[k_min, k_max]``, ``k_max`` defaulting to N — AlignProp's
paper: "a contiguous suffix of random length"). Costs N network forwards and K backwards. It gives no
gradient to ``x_T`` unless K = N, so on the ``latent`` target a K < N is reported as ``not_applicable``,
never as a zero gradient.

AlignProp's released code (and trl's port, ``truncated_backprop_rand``) differs from its paper: the
latent is never detached, only the network output ``ε`` of a step is, when the step's index ``i``
(0 = the noisiest) is below a cutoff ``r``. So the state keeps its graph through every step's affine
part, as in ``sdo``, and:

* ``k: per-step`` — a fresh ``r`` uniform in ``0..N`` at *every* step: step ``i`` keeps its network graph
  with probability ``(i + 1) / (N + 1)``; the kept set is not contiguous;
* ``k: gaussian`` — AlignProp's newer pipeline: one ``r`` per gradient from a Gaussian of mean 42 and
  standard deviation 5 for N = 50 (scaled as ``0.84 N`` and ``0.1 N``, rounded, clipped to ``0..N-1``);
  steps ``i >= r`` keep their network graph.

Both give ``x_T`` a gradient (through the affine parts), so they apply to every target. The steps that
do not keep their graph evaluate ``ε`` under ``no_grad`` (the same value and gradient as AlignProp's
detach, without building the graph first). Biased; N network forwards and as many backwards as steps
kept (``info["kept"]``).
"""

from __future__ import annotations

import torch

from .base import NOT_APPLICABLE, GradientMethod, Option, as_int
from .registry import register

CODE_RULES = ("per-step", "gaussian")


@register
class Truncated(GradientMethod):
    name = "truncated"
    keeps = "the last K steps' activations (the others run without graph)"
    kind = "biased"

    def applies_to(self, target: str) -> bool:
        return target != "latent"  # with K < N the first step, the only one that reads x_T, keeps no graph

    def affine_cost(self) -> bool:
        return isinstance(self.opts["k"], int)  # K fixed (random and the code rules draw it)

    benchmark_options = {"k": 1}
    options = {
        "k": Option(
            1,
            "final steps that keep their graph: an integer 1..N, 'random' (paper), or AlignProp's code "
            "rules 'per-step' / 'gaussian' (the latent is not detached)",
        ),
        "k_min": Option(1, "smallest K drawn when k = random"),
        "k_max": Option(None, "largest K drawn when k = random (default N)"),
    }

    @classmethod
    def examples(cls, steps):
        return [{"k": 1}, {"k": steps}]

    def parse_option(self, key, value):
        if key == "k" and value in ("random", *CODE_RULES):
            return value
        if key == "k_max" and value is None:
            return None
        v = as_int(key, value, self.name)
        if v < 1:
            raise ValueError(
                f"option {key} of method 'truncated' must be >= 1 or 'random' (or AlignProp's code rules "
                f"'per-step', 'gaussian'), got {v}"
            )
        return v

    def check(self, task):
        N = task.steps
        k, lo, hi = self.opts["k"], self.opts["k_min"], self.opts["k_max"]
        if isinstance(k, int) and k > N:
            raise ValueError(
                f"option k={k} of method 'truncated' exceeds the number of steps N={N}; "
                f"valid choices: an integer 1..{N} or 'random', 'per-step', 'gaussian'"
            )
        if k == "random":
            hi = N if hi is None else hi
            if not 1 <= lo <= hi <= N:
                raise ValueError(
                    f"options k_min={lo}, k_max={hi} of method 'truncated' must satisfy "
                    f"1 <= k_min <= k_max <= N={N}"
                )

    def algorithm(self, task) -> str:
        k = self.opts["k"]
        if k == task.steps:
            return "bptt"  # every step keeps its graph
        return f"truncated-k={k}" if isinstance(k, int) else super().algorithm(task)

    def draw_k(self, task) -> int:
        if self.opts["k"] != "random":
            return self.opts["k"]
        hi = task.steps if self.opts["k_max"] is None else self.opts["k_max"]
        return self.rng(task).randint(self.opts["k_min"], hi)

    def forward(self, task):
        if self.opts["k"] in CODE_RULES:
            return self._code_rule(task)
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

    def _code_rule(self, task):
        """AlignProp's released code: ε of step i detached when i < r; the latent never detached."""
        N, rng = task.steps, self.rng(task)
        if self.opts["k"] == "gaussian":
            r = min(N - 1, max(0, round(rng.gauss(0.84 * N, 0.1 * N))))
            cutoffs = [r] * N
        else:
            cutoffs = [rng.randint(0, N) for _ in range(N)]
        kept = [i for i in range(N) if i >= cutoffs[i]]
        self.info["kept"] = kept
        x = task.x_T()
        for i in range(N):
            if i in kept:
                eps = task.eps(x, i)
            else:
                with torch.no_grad():
                    eps = task.eps(x, i)  # AlignProp: noise_pred.detach()
            x = task.sampler.step(i, x, eps)
        return x
