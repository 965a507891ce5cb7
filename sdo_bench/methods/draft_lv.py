"""``draft-lv``: DRaFT-LV — "Directly Fine-Tuning Diffusion Models on Differentiable Rewards" (Clark et al.,
ICLR 2024), the low-variance K = 1 variant.

The full chain runs once under ``no_grad`` to the final sample ``x_N``. Then, ``n`` times, the sample is
re-noised to the noise level of the last sampler step and that one step is taken again with its graph::

    x'_i = sqrt(ᾱ_{N-1}) · x_N + sqrt(1 - ᾱ_{N-1}) · ε_i,      ε_i ~ N(0, I)   (i = 1 … n)
    x_N^(i) = Φ_{N-1}(x'_i) = a_{N-1} x'_i + b_{N-1} ε(x'_i, t_{N-1}, c; θ)

and the reward is averaged over the ``n`` results (they are stacked along the batch, so prompt ``j`` of a
text-conditioned task still scores sample ``j``'s copies when the batch is a multiple of the prompts).
The noises ``ε_i`` come from the method's seeded stream, one seed each (so ``n = 2`` is exactly the mean
of two consecutive ``n = 1`` gradients — a test). Biased (only the last step's network Jacobian,
at re-noised inputs); costs N + n network forwards and n backwards. Not applicable to the ``latent``
target: ``x_N`` is computed under ``no_grad``, so ``x_T`` gets no gradient.
"""

from __future__ import annotations

import torch

from .base import NOT_APPLICABLE, GradientMethod, Option, as_int
from .registry import register


@register
class DRaFTLV(GradientMethod):
    name = "draft-lv"
    keeps = "n re-noised last steps' activations"
    kind = "biased"

    def applies_to(self, target: str) -> bool:
        return target != "latent"  # x_T never meets the graph (a no-grad chain, then re-noised samples)

    def affine_cost(self) -> bool:
        return True  # n re-noisings, whatever N

    benchmark_options = {"n": 2}
    options = {"n": Option(2, "re-noisings of the final sample, one graph-keeping last step each")}

    def parse_option(self, key, value):
        v = as_int(key, value, self.name)
        if v < 1:
            raise ValueError(f"option n of method 'draft-lv' must be >= 1, got {v}")
        return v

    def forward(self, task):
        if task.target == "latent":
            self.info["reason"] = "draft-lv samples x_N under no_grad: x_T gets no gradient"
            return NOT_APPLICABLE
        N, n = task.steps, self.opts["n"]
        with torch.no_grad():
            x = task.x_T()
            for k in range(N):
                x = task.sampler.step(k, x, task.eps(x, k))
        outs = []
        for _ in range(n):  # each noise from its own seed of the method's stream
            generator = torch.Generator().manual_seed(self.rng(task).getrandbits(62))
            noise = torch.randn(x.shape, generator=generator, dtype=torch.float64).to(x.dtype).to(x.device)
            x_renoised = task.sampler.noised(N - 1, x, noise)
            outs.append(task.sampler.step(N - 1, x_renoised, task.eps(x_renoised, N - 1)))
        return torch.cat(outs)
