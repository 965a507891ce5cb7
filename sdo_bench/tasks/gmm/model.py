"""Analytic Gaussian-mixture denoiser: the exact ε of a K-component mixture in D dimensions.

Data ``x_0 ~ Σ_i π_i N(μ_i, s² I)`` diffused as ``x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) n`` has the marginal
``p_t = Σ_i π_i N(sqrt(ᾱ_t) μ_i, v_t I)`` with ``v_t = ᾱ_t s² + 1 - ᾱ_t``, so the optimal noise predictor is
closed form::

    w_i(x) = softmax_i( log π_i - |x - sqrt(ᾱ_t) μ_i|² / (2 v_t) )
    ε(x, t) = sqrt(1 - ᾱ_t) / v_t · (x - sqrt(ᾱ_t) Σ_i w_i(x) μ_i)

It is differentiable in ``x`` and in the means ``μ`` (the ``weights`` target). ``t`` may be fractional:
``log ᾱ`` is interpolated linearly between training timesteps (exact on integers).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...sampling.base import real_tensors


class GMMDenoiser(nn.Module):
    """``eps = model(x, t, cond)`` for a Gaussian mixture; ``x`` has shape (B, D); ``cond`` is ignored."""

    def __init__(
        self,
        means: torch.Tensor,
        std: float,
        alphas_cumprod: torch.Tensor,
        log_weights: torch.Tensor | None = None,
    ):
        super().__init__()
        K, _ = means.shape
        self.means = nn.Parameter(means.clone())
        self.std = float(std)
        with real_tensors():  # the schedule as Python floats (also under the cost model's fake tensors)
            self.log_alpha_bar = [float(v) for v in torch.log(alphas_cumprod.double())]
        if log_weights is None:
            log_weights = torch.full((K,), -math.log(K), dtype=means.dtype)
        self.register_buffer("log_weights", log_weights.to(means.dtype))

    def alpha_bar(self, t: float) -> float:
        t = float(t)
        n = len(self.log_alpha_bar)
        if t <= 0:
            return math.exp(self.log_alpha_bar[0])
        if t >= n - 1:
            return math.exp(self.log_alpha_bar[-1])
        i = int(math.floor(t))
        f = t - i
        return math.exp((1 - f) * self.log_alpha_bar[i] + f * self.log_alpha_bar[i + 1])

    def forward(self, x: torch.Tensor, t, cond=None) -> torch.Tensor:
        ab = self.alpha_bar(float(t))
        v = ab * self.std**2 + (1.0 - ab)
        centres = math.sqrt(ab) * self.means  # (K, D)
        d2 = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(-1)  # (B, K)
        w = torch.softmax(self.log_weights[None, :] - d2 / (2 * v), dim=-1)
        return math.sqrt(1.0 - ab) / v * (x - w @ centres)


def ring_means(num_components: int, dim: int, radius: float, dtype=torch.float64) -> torch.Tensor:
    """Means on a circle in the first two coordinates (zero in the others): a picture one can check."""
    angles = torch.arange(num_components, dtype=torch.float64) * (2 * math.pi / num_components)
    means = torch.zeros(num_components, dim, dtype=torch.float64)
    means[:, 0] = radius * torch.cos(angles)
    if dim > 1:
        means[:, 1] = radius * torch.sin(angles)
    return means.to(dtype)
