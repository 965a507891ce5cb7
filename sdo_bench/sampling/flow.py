"""The flow-matching Euler sampler (SD3, SD3.5, FLUX.1, rectified flows), written as steps ``Φ_k`` like
:class:`~sdo_bench.sampling.DDIMSampler` so that every gradient method runs on it unchanged.

The network predicts a velocity ``v`` on the path ``x_σ = (1 - σ) x_0 + σ n`` and a step is Euler on the
flow ODE ``dx/dσ = v`` over the σ grid ``σ_0 = 1 ≥ … > σ_N = 0`` — affine in the state and the network
output, with scalar coefficients kept as Python floats (the step saves nothing for backward)::

    x_{k+1} = Φ_k(x_k) = x_k + (σ_{k+1} - σ_k) · v(x_k, t_k, c; θ)        (a_k = 1, b_k = σ_{k+1} - σ_k)

The grid and the network's timesteps ``t_k = σ_k · num_train_timesteps`` come from diffusers'
``FlowMatchEulerDiscreteScheduler``: its ``shift`` (SD3: 3.0) or FLUX's resolution-dependent shift
``mu`` (``use_dynamic_shifting``; the FLUX pipeline passes ``σ = linspace(1, 1/N, N)`` and ``mu`` from
the image's token count, as here with ``flux_sigmas=True``). What the pipeline feeds the network is the
family's business (FLUX divides t by 1000).
"""

from __future__ import annotations

import numpy as np
import torch

from .base import Sampler, check_steps, real_tensors


def flow_scheduler(config, **overrides):
    """diffusers' ``FlowMatchEulerDiscreteScheduler`` from a config (a dict, or a scheduler's own
    ``config``) with ``overrides``, on real tensors (its constructor reads its own σ table, also under
    the cost model's fake mode)."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    with real_tensors():
        return FlowMatchEulerDiscreteScheduler.from_config(dict(config), **overrides)


def flux_mu(image_seq_len: int, config) -> float:
    """FLUX's resolution-dependent shift (diffusers' ``calculate_shift`` with the scheduler's config)."""
    base, top = config.get("base_image_seq_len", 256), config.get("max_image_seq_len", 4096)
    lo, hi = config.get("base_shift", 0.5), config.get("max_shift", 1.15)
    m = (hi - lo) / (top - base)
    return image_seq_len * m + (lo - m * base)


class FlowMatchSampler(Sampler):
    """Euler over ``num_steps`` steps of a diffusers ``FlowMatchEulerDiscreteScheduler`` (copied with
    ``from_config``). ``mu``: the dynamic shift (where the scheduler uses one); ``flux_sigmas``: the
    FLUX pipeline's σ grid ``linspace(1, 1/N, N)`` before the shift."""

    prediction = "velocity"
    PER_STEP = ("timesteps", "a", "b", "sigma")

    def __init__(self, scheduler, num_steps: int, *, mu: float | None = None, flux_sigmas: bool = False):
        with real_tensors():  # the schedule is a few Python floats, also under the cost model's fake mode
            self._init(scheduler, num_steps, mu, flux_sigmas)

    def _init(self, scheduler, num_steps, mu, flux_sigmas):
        num_steps = check_steps(num_steps)
        from diffusers import FlowMatchEulerDiscreteScheduler

        self.scheduler = FlowMatchEulerDiscreteScheduler.from_config(scheduler.config)
        self.mu, self.flux_sigmas = mu, flux_sigmas
        kw = {}
        if flux_sigmas:
            kw["sigmas"] = list(np.linspace(1.0, 1 / num_steps, num_steps))
        if self.scheduler.config.use_dynamic_shifting:
            if mu is None:
                raise ValueError("this flow-matching scheduler shifts by resolution: give the sampler mu")
            kw["mu"] = mu
        self.scheduler.set_timesteps(num_inference_steps=num_steps, **kw)
        self._start(num_steps)
        #: σ_0 … σ_N (σ_N = 0) and the network's timestep at each step, t_k = σ_k · num_train_timesteps
        self.sigma: list[float] = [float(s) for s in self.scheduler.sigmas]
        self.timesteps: list[float] = [float(t) for t in self.scheduler.timesteps]
        self.a = [1.0] * self.num_steps
        self.b = [s1 - s0 for s0, s1 in zip(self.sigma[:-1], self.sigma[1:])]

    def with_steps(self, num_steps: int) -> FlowMatchSampler:
        """The same schedule over ``num_steps`` steps (a resolution shift stays the image's)."""
        return FlowMatchSampler(self.scheduler, num_steps, mu=self.mu, flux_sigmas=self.flux_sigmas)

    # -- one step ------------------------------------------------------------------------------------
    def step(self, k: int, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """``Φ_k``: ``x + (σ_{k+1} - σ_k) v`` (diffusers' ``FlowMatchEulerDiscreteScheduler.step``)."""
        return x + self.b[k] * v

    def predict_x0(self, k: int, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The one-step prediction of the clean sample from step ``k``: ``x - σ_k v``."""
        return x - self.sigma[k] * v

    def noised(self, k: int, x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``x0`` at the noise level step ``k`` starts from: ``(1 - σ_k) x0 + σ_k n``."""
        s = self.sigma[k]
        return (1.0 - s) * x0 + s * noise

    def training_pair(self, x0: torch.Tensor, noise: torch.Tensor, t: int) -> tuple[torch.Tensor, ...]:
        """The training input at timestep ``t`` (σ = t / num_train_timesteps) and its target, the
        velocity ``n - x0`` (rectified flow's loss)."""
        s = t / self.num_train_timesteps
        return (1.0 - s) * x0 + s * noise, noise - x0

    # -- the flow ODE (adjoint) ------------------------------------------------------------------------
    def state_scale(self, sigma: float) -> float:
        """1: the flow ODE ``dx/dσ = v`` is written in the state itself."""
        return 1.0

    def grid_scale(self, i: int) -> float:
        return 1.0

    def t_of_sigma(self, sigma: float) -> float:
        """The network's timestep at a σ between grid points (exact on the grid: ``t = σ · T``)."""
        return sigma * self.num_train_timesteps
