"""``adjoint``: the continuous adjoint of the probability-flow ODE — AdjointDPM (Pan et al., ICLR 2024).

On a flow-matching sampler the ODE is the flow's own, ``dx/dσ = v(x, t(σ), c; θ)`` (the state needs no
rescaling: ``state_scale`` is 1) and Euler on its σ grid is the sampler; below, the DDIM case.

In DDIM's natural variables ``x̄ = x / sqrt(ᾱ)`` and ``σ = sqrt(1 - ᾱ) / sqrt(ᾱ)`` the probability-flow
ODE is ``dx̄/dσ = ε(sqrt(ᾱ(σ)) x̄, t(σ), c; θ)`` with ``ᾱ(σ) = 1 / (1 + σ²)``, and Euler on the sampler's
σ grid ``σ_0 > … > σ_N`` *is* DDIM (eta = 0). The forward pass integrates it with
``torchdiffeq.odeint_adjoint`` under ``no_grad`` (no activations kept); the backward pass integrates the
adjoint ODE ``da/dσ = -aᵀ ∂ε/∂x̄`` together with the parameter adjoint and the state itself, backwards
with the same solver on the same grid.

Approximate: the state is reconstructed by integrating backwards instead of being stored, and the
adjoint is discretised; the error shrinks as N grows. With Euler it costs 2N network forwards and N
vector-Jacobian products, and O(1) activations. Between grid points the network gets the continuous
timestep ``t(σ)`` (log σ interpolation over the training schedule).
"""

from __future__ import annotations

import torch

from .base import GradientMethod, Option
from .registry import register

SOLVERS = ("euler", "midpoint", "rk4")


class _ProbabilityFlow(torch.nn.Module):
    """``f(σ, x̄) = ε(sqrt(ᾱ(σ)) x̄, t(σ))``, timesteps exact on the sampler's grid."""

    def __init__(self, task):
        super().__init__()
        self.task = task
        sigmas = task.sampler.sigma
        self._grid_t = {s: t for s, t in zip(sigmas[:-1], task.sampler.timesteps)}

    def timestep(self, sigma: float):
        for s, t in self._grid_t.items():
            if abs(s - sigma) <= 1e-6 * max(abs(s), 1e-12):
                return t
        return self.task.sampler.t_of_sigma(sigma)

    def forward(self, sigma, xbar):
        s = float(sigma.detach())
        return self.task.eps_at(xbar * self.task.sampler.state_scale(s), self.timestep(s))


@register
class Adjoint(GradientMethod):
    name = "adjoint"
    keeps = "no step's activations: the state is integrated back; one step's graph at a time in the backward"
    kind = "approximate"

    def affine_cost(self) -> bool:
        return True

    options = {
        "solver": Option("euler", "torchdiffeq fixed-grid solver on the DDIM σ grid: " + " | ".join(SOLVERS))
    }

    def parse_option(self, key, value):
        if value not in SOLVERS:
            raise ValueError(
                f"option solver of method 'adjoint' must be one of {', '.join(SOLVERS)}, got {value!r}"
            )
        return value

    def forward(self, task):
        sampler = task.sampler
        x_T = task.x_T()
        sigma = torch.tensor(sampler.sigma, dtype=x_T.dtype, device=x_T.device)  # σ_0 > … > σ_N

        def grid(func, y0, t):
            # The sampler's σ grid between the two end points torchdiffeq asks for. It may ask in a negated
            # frame (it integrates decreasing times as increasing -t, and the adjoint's saved times are
            # negated already), so take ±σ, whichever holds the end points, ordered from t[0] to t[-1].
            a, b = t[0], t[-1]
            pts = sigma if max(a, b) > 0 else -sigma
            lo, hi = min(a, b), max(a, b)
            g = pts[(pts >= lo) & (pts <= hi)]
            g = g.sort(descending=bool(a > b)).values.clone()
            g[0], g[-1] = a, b
            return g

        xbar_0 = x_T / sampler.grid_scale(0)
        adjoint_params = () if task.target == "latent" else tuple(task.parameters())
        from torchdiffeq import odeint_adjoint  # loaded by the runs that use it

        xbar = odeint_adjoint(
            _ProbabilityFlow(task),
            xbar_0,
            torch.stack([sigma[0], sigma[-1]]),
            method=self.opts["solver"],
            options={"grid_constructor": grid},
            adjoint_params=adjoint_params,
        )[-1]
        return xbar * sampler.grid_scale(sampler.num_steps)
