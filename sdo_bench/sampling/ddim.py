"""The deterministic DDIM sampler, written as steps ``Φ_k`` that gradient methods call one at a time.

Steps are indexed ``k = 0 … N-1`` from noise to data. With ``eta = 0`` a DDIM step is affine in the
state and in the network output (docs/design.md §3)::

    x_{k+1} = Φ_k(x_k) = a_k · x_k + b_k · ε(x_k, t_k, c; θ)
    a_k = sqrt(ᾱ_{k+1} / ᾱ_k)
    b_k = sqrt(1 - ᾱ_{k+1}) - sqrt(ᾱ_{k+1} (1 - ᾱ_k) / ᾱ_k)

where ``ᾱ_k`` is the scheduler's ``alphas_cumprod`` at timestep ``t_k`` and ``ᾱ_N`` the one the last step
lands on (``final_alpha_cumprod``). Timesteps, ``ᾱ`` and the step rule come from diffusers'
``DDIMScheduler``; the coefficients are kept as Python floats so that the affine part of a step saves no
tensor for backward (what SDO relies on: the state keeps its graph at the cost of nothing).

In DDIM's natural variables ``x̄ = x / sqrt(ᾱ)`` and ``σ = sqrt(1 - ᾱ) / sqrt(ᾱ)`` the same step reads
``x̄_{k+1} = x̄_k + (σ_{k+1} - σ_k) ε``: Euler on the probability-flow ODE ``dx̄/dσ = ε`` over the σ grid
(used by the ``adjoint`` method).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from .base import Sampler, check_steps, real_tensors

if TYPE_CHECKING:
    from diffusers import DDIMScheduler


class DDIMSampler(Sampler):
    """DDIM (eta = 0) over ``num_steps`` steps of a diffusers ``DDIMScheduler``.

    The scheduler passed in is copied (``from_config``) so that setting the number of steps here never
    changes a scheduler owned by somebody else (e.g. a diffusers pipeline).
    """

    #: what the network predicts (the flow-matching sampler's network predicts a velocity)
    prediction = "epsilon"
    PER_STEP = ("timesteps", "alpha_bar_t", "alpha_bar_prev", "a", "b", "alpha_bar", "sigma")

    def __init__(self, scheduler: DDIMScheduler, num_steps: int):
        with real_tensors():  # the schedule's coefficients are Python floats, also under a fake mode
            self._init(scheduler, num_steps)

    def _init(self, scheduler: DDIMScheduler, num_steps: int):
        num_steps = check_steps(num_steps)
        from diffusers import DDIMScheduler  # here, not at import: diffusers takes seconds to load

        self.scheduler = DDIMScheduler.from_config(scheduler.config)
        num_train = self.scheduler.config.num_train_timesteps
        if num_steps > num_train:
            raise ValueError(f"steps must be <= num_train_timesteps = {num_train}, got {num_steps}")
        self.scheduler.set_timesteps(num_steps)
        self._start(num_steps)
        self.timesteps: list[int] = [int(t) for t in self.scheduler.timesteps]
        ac = self.scheduler.alphas_cumprod.double()
        self._train_alpha_bar = ac
        final = float(self.scheduler.final_alpha_cumprod)
        # scheduler.step lands step k on t_k - num_train // N (or on final_alpha_cumprod below 0)
        step_ratio = num_train // self.num_steps
        #: ᾱ at the timestep each step starts from, and at the one it lands on
        self.alpha_bar_t: list[float] = [float(ac[t]) for t in self.timesteps]
        self.alpha_bar_prev: list[float] = [
            float(ac[t - step_ratio]) if t - step_ratio >= 0 else final for t in self.timesteps
        ]
        self.a: list[float] = []
        self.b: list[float] = []
        for ab_t, ab_prev in zip(self.alpha_bar_t, self.alpha_bar_prev):
            self.a.append(math.sqrt(ab_prev / ab_t))
            self.b.append(math.sqrt(1.0 - ab_prev) - math.sqrt(ab_prev * (1.0 - ab_t) / ab_t))
        #: ᾱ_0 … ᾱ_N on the σ grid of the probability-flow ODE (equal to the landing points whenever
        #: the timestep spacing is regular, i.e. N divides num_train_timesteps or spacing is "leading")
        self.alpha_bar: list[float] = self.alpha_bar_t + [self.alpha_bar_prev[-1]]
        self.sigma: list[float] = [math.sqrt((1.0 - ab) / ab) for ab in self.alpha_bar]

    def with_steps(self, num_steps: int) -> DDIMSampler:
        """The same schedule over ``num_steps`` steps (the cost model swaps N on a built task)."""
        return DDIMSampler(self.scheduler, num_steps)

    # -- one step ------------------------------------------------------------------------------------
    def step(self, k: int, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """``Φ_k``'s affine part: ``a_k x + b_k ε`` (diffusers' DDIM step with eta = 0)."""
        return self.a[k] * x + self.b[k] * eps

    # -- what methods other than the plain chain need, in the sampler's own terms ----------------------
    def predict_x0(self, k: int, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """The one-step prediction of the clean sample from step ``k``:
        ``(x - sqrt(1 - ᾱ_k) ε) / sqrt(ᾱ_k)``."""
        ab = self.alpha_bar_t[k]
        return (x - math.sqrt(1.0 - ab) * eps) / math.sqrt(ab)

    def noised(self, k: int, x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``x0`` taken to the noise level step ``k`` starts from: ``sqrt(ᾱ_k) x0 + sqrt(1 - ᾱ_k) n``."""
        ab = self.alpha_bar_t[k]
        return math.sqrt(ab) * x0 + math.sqrt(1.0 - ab) * noise

    def training_pair(self, x0: torch.Tensor, noise: torch.Tensor, t: int) -> tuple[torch.Tensor, ...]:
        """The model's training input at timestep ``t`` and what it learns to predict there: ``x_t =
        sqrt(ᾱ_t) x0 + sqrt(1 - ᾱ_t) n`` and ``ε = n`` (ReFL's pre-training loss,
        :mod:`sdo_bench.tasks.regularizers`)."""
        with real_tensors():
            ab = float(self._train_alpha_bar[t])
        return ab**0.5 * x0 + (1 - ab) ** 0.5 * noise, noise

    def state_scale(self, sigma: float) -> float:
        """``x = state_scale(σ) · x̄`` on the probability-flow ODE ``dx̄/dσ = ε`` (``sqrt(ᾱ(σ))``, ``ᾱ(σ)
        = 1 / (1 + σ²)``): the ``adjoint`` method integrates ``x̄``."""
        return math.sqrt(1.0 / (1.0 + sigma * sigma))

    def grid_scale(self, i: int) -> float:
        """:meth:`state_scale` at the grid's ``σ_i`` (``sqrt(ᾱ_i)`` as the schedule holds it)."""
        return math.sqrt(self.alpha_bar[i])

    # -- natural variables (adjoint) -----------------------------------------------------------------
    def t_of_sigma(self, sigma: float) -> float:
        """Continuous timestep for a σ, interpolating log σ over the training schedule.

        Exact on the sampler's grid; clamps to the first training timestep below the schedule's
        smallest σ (e.g. at the final ``ᾱ = 1``).
        """
        with real_tensors():
            return self._t_of_sigma(sigma)

    def _t_of_sigma(self, sigma: float) -> float:
        log_sigmas = 0.5 * torch.log((1 - self._train_alpha_bar) / self._train_alpha_bar)
        if sigma <= float(torch.exp(log_sigmas[0])):
            return 0.0
        ls = math.log(sigma)
        if ls >= float(log_sigmas[-1]):
            return float(len(log_sigmas) - 1)
        i = int(torch.searchsorted(log_sigmas, torch.tensor(ls, dtype=log_sigmas.dtype))) - 1
        lo, hi = float(log_sigmas[i]), float(log_sigmas[i + 1])
        return i + (ls - lo) / (hi - lo)
