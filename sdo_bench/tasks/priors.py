"""Priors on the optimized initial noise x_T of a ``latent`` task: the regularizer users of latent
optimization add so that x_T stays a plausible draw of N(0, I).

Both return a per-sample penalty ``R(z) >= 0`` (shape (B,)); a task with ``prior != "none"`` optimizes
the *objective* ``J = mean reward - prior_weight * mean R(x_T)``. The penalty depends on x_T alone, so
its gradient is exact for every method and is added outside the method (the method's gradient, and its
fidelity to ``bptt``, stay those of the reward).

* ``norm`` -- ReNO (Eyring et al., 2024, "ReNO: Enhancing One-step Text-to-Image Models through
  Reward-based Noise Optimization", arXiv 2406.04312, eq. 4): the negative log-likelihood of the norm
  ``r = ||z||`` of a d-dimensional standard normal, which follows a chi distribution with d degrees of
  freedom: ``0.5 r^2 - (d - 1) log r``, shifted here by its minimum (at ``r = sqrt(d - 1)``) so that it is
  0 on the Gaussian shell. Exact.
* ``dno`` -- DNO (Tang et al., 2024, "Inference-Time Alignment of Diffusion Models with Direct Noise
  Optimization", arXiv 2405.18881, the probability regularization of section 4 as written in the authors'
  released code): z (flattened) is cut into ``num = d / k`` blocks of ``k = 4`` consecutive values; the
  blocks' mean ``m`` and second-moment matrix ``C`` (k x k) are compared with those of N(0, I) through
  concentration bounds, ``lp_mean = -num ||m||^2 / (2k)`` and, with ``M`` the spectral norm of ``C - I``,
  ``lp_cov = -num (max(sqrt(1 + M) - 1 - sqrt(k / num), 0))^2 / 2``, each clamped at ``<= -log 2``; the
  same on ``shuffles`` fixed random permutations of z, averaged with the sequential one. ``R = -(lp_mean
  + lp_cov) - 2 log 2``, shifted by its floor: it is zero (its gradient too, through the clamps) or
  small for a real Gaussian draw and grows when z is not one. At the 256 values of a digits x_T the
  bounds are loose: measured here, unregularized ``bptt`` hacks the reward without leaving the floor.
"""

from __future__ import annotations

import math

import torch

from ..spec.settings import PRIORS, choice


def norm_nll(z: torch.Tensor) -> torch.Tensor:
    """ReNO's norm prior, per sample, 0 at ``||z|| = sqrt(d - 1)``."""
    flat = z.flatten(1)
    d = flat.shape[1]
    r = flat.norm(dim=1)
    r0 = math.sqrt(d - 1)
    return 0.5 * (r**2 - r0**2) - (d - 1) * (torch.log(r) - math.log(r0))


def _block_log_probs(flat: torch.Tensor, k: int) -> torch.Tensor:
    """DNO's mean and covariance log-probability bounds of each row of ``flat`` (B, d) -> (B,)."""
    b, d = flat.shape
    num = d // k
    blocks = flat[:, : num * k].reshape(b, num, k)
    m = blocks.mean(dim=1)  # (B, k)
    lp_mean = (-num * (m**2).sum(-1) / (2 * k)).clamp(max=-math.log(2))
    scaled = blocks / math.sqrt(num)
    cov = scaled.transpose(1, 2) @ scaled  # (B, k, k)
    eye = torch.eye(k, dtype=flat.dtype, device=flat.device)
    M = torch.linalg.matrix_norm(cov - eye, ord=2)
    diff = (torch.sqrt(1 + M) - 1 - math.sqrt(k / num)).clamp(min=0)
    lp_cov = (-num * diff**2 / 2).clamp(max=-math.log(2))
    return lp_mean + lp_cov


class DNOPrior:
    """DNO's probability regularizer with ``shuffles`` permutations fixed by ``seed``."""

    def __init__(self, dim: int, k: int = 4, shuffles: int = 4, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.k = k
        self.perms = [torch.randperm(dim, generator=g) for _ in range(shuffles)]

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        flat = z.flatten(1)
        lps = [_block_log_probs(flat, self.k)]
        lps += [_block_log_probs(flat[:, p.to(flat.device)], self.k) for p in self.perms]
        return -torch.stack(lps).mean(0) - 2 * math.log(2)


def build(name: str, dim: int):
    """The penalty function of prior ``name`` for variables of ``dim`` values per sample (None: none)."""
    if choice("prior", name, PRIORS) == "none":
        return None
    if name == "norm":
        return norm_nll
    return DNOPrior(dim)
