"""Regularizers of the parameter targets (``condition``, ``lora``, ``weights``): what keeps a tuned
sampler near the model it started from, the counterpart of the priors on x_T of the ``latent`` target
(:mod:`sdo_bench.tasks.priors`).

A task with ``regularizer != "none"`` optimizes the *objective* ``J = mean reward - regularizer_weight
* R(θ)``. ``R`` is computed, and its gradient taken exactly, outside the gradient method, the same way
for every method: the method's gradient (and its fidelity to ``bptt``) stays that of the reward, and
every method in a race optimizes the same objective. Its time is recorded apart
(``time_regularizer_s``), not in the method's time per iteration.

* ``kl`` -- DPOK (Fan et al., 2023, "DPOK: Reinforcement Learning for Fine-tuning Text-to-Image
  Diffusion Models", arXiv 2305.16381, eq. 7 and its per-step upper bound): the KL between the tuned and
  the frozen base sampler along the current trajectory. Between two Gaussian steps of the same variance
  it is, per step, a multiple of the squared difference of the two noise predictions; with the
  deterministic DDIM steps of this suite the per-step weights are taken equal::

      R_kl(θ) = (1/N) Σ_k mean[(ε(sg[x_k], t_k; θ) - ε(sg[x_k], t_k; θ_0))²]

  over the states ``x_k`` of a no-grad sample from the task's training noises at the current θ (the
  states detached, as in DPOK), ``θ_0`` the parameters the run started from (for LoRA: the base model).
  Its gradient is exact for this R; it costs N no-grad network calls for the trajectory, N for the base
  and N forward and backward with the parameter graph (where the parameters are the condition under
  guidance, the base and the parameter-graph calls evaluate the conditional half only: the null
  conditioning's half is the same under both, ``Task.eps_reached_at``).
* ``pretrain`` -- ReFL (Xu et al., 2023, "ImageReward: Learning and Evaluating Human Preferences for
  Text-to-Image Generation", arXiv 2304.05977, Algorithm 1: the pre-training loss beside the reward
  loss, on a fresh batch of the pre-training data at each step): the rise of the denoising loss the
  model was trained with over the base model's, on the same batch::

      R_pretrain(θ) = mean[(ε(x_t, t; θ) - n)²] - mean[(ε(x_t, t; θ_0) - n)²]
      x_t = sqrt(ᾱ_t) x_0 + sqrt(1 - ᾱ_t) n

  Each gradient takes a fresh, seeded minibatch ``x_0`` of the family's training data (``train_data``,
  a pool; the same stream of minibatches for every method and seed), so that a tuned model cannot lower
  R by fitting a fixed batch: R measures forgetting, not memorizing. The reported value (the run's
  ``regularizer_final``) is taken on an evaluation batch of the pool that no gradient ever sees. With
  the task's conditioning (for ``condition``: the optimized embedding; no guidance: the training loss
  is the conditional one); ``groups`` timesteps spread over the training schedule. Exact for the
  minibatch it is taken on; one forward at θ_0 and one forward and backward at θ per group (one call
  for a network that takes a timestep per sample).
"""

from __future__ import annotations

import contextlib

import torch

from ..spec.settings import REGULARIZERS, choice


@contextlib.contextmanager
def _parameters_at(params: list[torch.Tensor], values: list[torch.Tensor]):
    """``params`` hold ``values`` inside the block (no graph), and their own values again after it."""
    with torch.no_grad():
        current = [p.detach().clone() for p in params]
        for p, v in zip(params, values):
            p.copy_(v)
    try:
        yield
    finally:
        with torch.no_grad():
            for p, v in zip(params, current):
                p.copy_(v)


def _add_gradient(grads, r, params) -> None:
    """``grads += d r / d params`` (the parameters ``r`` does not reach add nothing)."""
    if grads is not None and r.requires_grad:
        for g, gk in zip(grads, torch.autograd.grad(r, params, allow_unused=True)):
            if gk is not None:
                g += gk


class KL:
    """DPOK's KL to the base sampler along the current trajectory (module doc)."""

    name = "kl"

    def __init__(self, task):
        self.base = [p.detach().clone() for p in task.parameters()]

    @torch.no_grad()
    def _states(self, task) -> list[torch.Tensor]:
        x, states = task.x_T(), []
        for k in range(task.steps):
            states.append(x.detach())
            x = task.sampler.step(k, x, task.eps(x, k))
        return states

    @staticmethod
    def _eps(task, x, k):
        """ε at step ``k`` up to what the parameters do not reach (``Task.eps_reached_at``): the KL
        takes differences of ε between two parameter values."""
        return task.eps_reached_at(x, task.sampler.timesteps[k])

    @torch.no_grad()
    def _base_eps(self, task, states) -> list[torch.Tensor]:
        with _parameters_at(task.parameters(), self.base):
            return [self._eps(task, x, k) for k, x in enumerate(states)]

    def value_and_gradient(self, task, grad: bool = True, states=None):
        """``R`` at the current parameters and (``grad``) its gradient w.r.t. ``task.parameters()``,
        one step at a time (one step's graph alive at a time). The states are constants (DPOK's
        stop-gradient): ``states`` gives them (default: the current trajectory)."""
        params = task.parameters()
        states = self._states(task) if states is None else states
        if task.batched_timesteps:
            return self._batched(task, params, states, grad)
        base = self._base_eps(task, states)
        n = len(states)
        total = 0.0
        grads = [torch.zeros_like(p) for p in params] if grad else None
        for k, (x, e0) in enumerate(zip(states, base)):
            with torch.set_grad_enabled(grad):
                r = ((self._eps(task, x, k) - e0) ** 2).mean() / n
            total += float(r.detach())
            _add_gradient(grads, r, params)
        return total, grads

    def _batched(self, task, params, states, grad):
        """The same sum as one network call over every state (a network that takes one timestep per
        sample): the mean over steps and values equals the mean over the stacked batch."""
        x = torch.cat(states)
        t = torch.cat(
            [torch.full((len(s),), float(task.sampler.timesteps[k]), dtype=x.dtype, device=x.device)
             for k, s in enumerate(states)]
        )  # fmt: skip
        with torch.no_grad(), _parameters_at(params, self.base):
            e0 = task.eps_reached_at(x, t)
        with torch.set_grad_enabled(grad):
            r = ((task.eps_reached_at(x, t) - e0) ** 2).mean()
        grads = [torch.zeros_like(p) for p in params] if grad else None
        _add_gradient(grads, r, params)
        return float(r.detach()), grads


class Pretrain:
    """ReFL's pre-training loss on fresh minibatches of the training data (module doc)."""

    name = "pretrain"

    def __init__(self, task, batch: int = 32, groups: int = 8, seed: int = 0):
        pool = task.train_data()
        if len(pool) < 2 * batch:
            raise ValueError(
                f"regularizer 'pretrain' needs at least {2 * batch} training samples, got {len(pool)}"
            )
        g = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(pool), generator=g)
        #: the evaluation batch (the reported penalty): never in a gradient's minibatch
        self.eval_x0 = pool[order[:batch]]
        self.eval_noise = torch.randn(self.eval_x0.shape, generator=g, dtype=torch.float64).to(pool)
        #: the rest: the stream of minibatches the gradients are taken on, one per call
        self.train_x0 = pool[order[batch:]]
        self.batch, self.groups, self.seed, self.calls = batch, min(groups, batch), seed, 0
        T = task.sampler.num_train_timesteps
        #: one timestep per group, spread over the training schedule (t = 0 .. T-1)
        self.timesteps = [round((i + 0.5) * T / self.groups) for i in range(self.groups)]
        self.base = [p.detach().clone() for p in task.parameters()]
        self.eval_offset: float | None = None  # the evaluation batch's loss at θ_0 (first call)

    def _batches(self, task, x0, noise):
        """The model's own training pairs (x_t, t, target) per timestep group; one stacked call where
        the network takes one timestep per sample."""
        batches = []
        for t, idx in zip(self.timesteps, torch.arange(len(x0)).chunk(self.groups)):
            x_t, target = task.sampler.training_pair(x0[idx], noise[idx], t)
            batches.append((x_t, t, target))
        if task.batched_timesteps and len({len(b[0]) for b in batches}) == 1:
            x = torch.cat([b[0] for b in batches])
            t = torch.cat([torch.full((len(b[0]),), float(b[1]), dtype=x.dtype, device=x.device)
                           for b in batches])  # fmt: skip
            batches = [(x, t, torch.cat([b[2] for b in batches]))]
        return batches

    def minibatch(self, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``k``-th minibatch of the stream and its noises: the same for every method and seed."""
        g = torch.Generator().manual_seed(1_000_003 * (self.seed + 1) + k)
        idx = torch.randperm(len(self.train_x0), generator=g)[: self.batch]
        x0 = self.train_x0[idx]
        return x0, torch.randn(x0.shape, generator=g, dtype=torch.float64).to(x0)

    def value_and_gradient(self, task, grad: bool = True, minibatch: int | None = None):
        """With ``grad``: the rise of the loss over θ_0's on the next fresh minibatch, and its gradient
        (what the optimizer follows); without: the rise on the evaluation batch (what is reported).
        ``minibatch``: on that minibatch of the stream instead, the stream not advanced (a test's
        finite differences of one gradient)."""
        params = task.parameters()
        if minibatch is not None:
            batches = self._batches(task, *self.minibatch(minibatch))
            with _parameters_at(params, self.base):
                offset = self._loss(task, params, batches, grad=False)[0]
            value, grads = self._loss(task, params, batches, grad)
            return value - offset, grads
        if not grad:
            batches = self._batches(task, self.eval_x0, self.eval_noise)
            if self.eval_offset is None:
                with _parameters_at(params, self.base):
                    self.eval_offset = self._loss(task, params, batches, grad=False)[0]
            value, _ = self._loss(task, params, batches, grad=False)
            return value - self.eval_offset, None
        batches = self._batches(task, *self.minibatch(self.calls))
        self.calls += 1
        with _parameters_at(params, self.base):
            offset = self._loss(task, params, batches, grad=False)[0]
        value, grads = self._loss(task, params, batches, grad=True)
        return value - offset, grads

    def _loss(self, task, params, batches, grad: bool):
        total = 0.0
        grads = [torch.zeros_like(p) for p in params] if grad else None
        for x_t, t, n in batches:
            with torch.set_grad_enabled(grad):
                cond = task.condition(len(x_t)) if task.condition is not None else None
                r = ((task.network(x_t, t, cond) - n) ** 2).mean() / len(batches)
            total += float(r.detach())
            _add_gradient(grads, r, params)
        return total, grads


def build(name: str, task):
    """The regularizer ``name`` for ``task`` (None: ``none``); ``ValueError`` where it does not apply."""
    if choice("regularizer", name, REGULARIZERS) == "none":
        return None
    if task.target == "latent":
        raise ValueError(
            f"regularizer applies to condition, lora and weights tasks; {task.name!r} optimizes x_T "
            "(set regularizer: none; a latent task takes a prior)"
        )
    if name == "kl":
        return KL(task)
    if task.train_data is None:
        raise ValueError(
            f"regularizer 'pretrain' needs the task's training data, and {task.name!r} has none "
            "(use regularizer: kl or none)"
        )
    return Pretrain(task)
