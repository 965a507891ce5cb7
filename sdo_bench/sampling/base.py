"""What every sampler shares: ``N`` and its one rule, the start step and the tail that re-indexes the
sampler from it (the authors' regime), the training schedule's length, and the switch to real tensors
that a schedule's Python floats need under the cost model's fake mode. A sampler's step is affine in
the state and the network output, ``x_{k+1} = a_k x_k + b_k f(x_k)``, with its coefficients per step
in the lists :attr:`Sampler.PER_STEP` names."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def real_tensors():
    """A block whose tensors are real even inside a fake-tensor mode (the cost model runs the sampler
    on fake tensors; the schedule itself is arithmetic on a few real numbers)."""
    from torch._subclasses.fake_tensor import unset_fake_temporarily

    return unset_fake_temporarily()


def check_steps(num_steps) -> int:
    """N, the number of sampling steps: an integer >= 1 (the one place this rule is written)."""
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"steps must be a positive integer, got {num_steps!r}")
    return int(num_steps)


class Sampler:
    """The base of :class:`~.ddim.DDIMSampler` and :class:`~.flow.FlowMatchSampler`."""

    #: the per-step lists a tail keeps from its start step on (each sampler names its own)
    PER_STEP: tuple[str, ...] = ("timesteps", "a", "b")
    #: what the network predicts (epsilon, velocity)
    prediction = ""

    def _start(self, num_steps: int) -> None:
        self.num_steps = self.total_steps = check_steps(num_steps)  # total_steps keeps N after tail()
        self.start_step = 0

    def tail(self, start: int):
        """The same sampler from step ``start`` on, re-indexed from 0 (the authors' regime: steps
        ``0..start-1`` run once, the variable is ``x_start``). ``total_steps`` keeps N."""
        if not 0 <= start < self.num_steps:
            raise ValueError(
                f"start_step must be in 0..{self.num_steps - 1} for N={self.num_steps}, got {start}"
            )
        t = copy.copy(self)
        t.num_steps = self.num_steps - start
        t.start_step = self.start_step + start
        for name in self.PER_STEP:
            setattr(t, name, getattr(self, name)[start:])
        return t

    def invert(self, x0: torch.Tensor, s: int, eps) -> torch.Tensor:
        """DDIM inversion: the data ``x0`` taken back up the schedule through the last ``s`` steps to the
        state step ``N - s`` starts from, each step ``Φ_k`` solved for its input with the network output
        taken at its output, ``x_k = (x_{k+1} - b_k ε(x_{k+1}, t_k)) / a_k`` (``eps(x, k)``: the task's
        network output at step ``k``). Exact where ``ε`` varies little over one step; the error shrinks
        as the steps get denser (tests state it)."""
        if not 0 < s <= self.num_steps:
            raise ValueError(
                f"inversion steps must be in 1..{self.num_steps} for N={self.num_steps}, got {s}"
            )
        x = x0
        for k in range(self.num_steps - 1, self.num_steps - 1 - s, -1):
            x = (x - self.b[k] * eps(x, k)) / self.a[k]
        return x

    @property
    def num_train_timesteps(self) -> int:
        return int(self.scheduler.config.num_train_timesteps)
