"""A built task: a named, fixed combination of model, reward, target, steps, batch, optimizer and iterations.

``sdo_bench.tasks.build(name, **overrides)`` makes one (:mod:`.registry`). A task owns everything a
gradient method needs:

* ``parameters()``: the leaf tensors being optimized (``requires_grad=True``); nothing else requires grad;
* ``x_T()``: the initial noise of the sampler (the parameter itself for the ``latent`` target);
* ``eps(x, k)``: the network output of sampler step ``k`` (conditioning and classifier-free guidance
  inside, one counted network call on the doubled batch);
* ``sampler``: the :class:`~sdo_bench.sampling.DDIMSampler` (or the flow-matching
  :class:`~sdo_bench.sampling.flow.FlowMatchSampler`) with its steps ``Φ_k``;
* ``reward_per_sample(x_N)``: the differentiable reward of the decoded final state, shape (B,).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..measure.counters import CountingNetwork
from ..sampling.ddim import DDIMSampler
from ..sampling.flow import FlowMatchSampler
from ..spec import settings


def resolve_dtype(dtype) -> torch.dtype:
    """``torch.<name>`` of a dtype name of :data:`sdo_bench.spec.settings.DTYPES` (checked there)."""
    if isinstance(dtype, torch.dtype):
        return dtype
    return getattr(torch, settings.choice("dtype", dtype, settings.DTYPES))


#: the Task fields every task takes from its resolved settings as they are (``tasks.make`` sets them)
RUN_SETTINGS = ("seed", "batch", "iterations", "optimizer", "lr", "dtype", "device")


@dataclass
class Task:
    """One built task. Construct through :func:`build`."""

    name: str
    model_name: str
    reward_name: str
    target: str
    network: CountingNetwork
    sampler: DDIMSampler | FlowMatchSampler
    reward_fn: Callable[[torch.Tensor], torch.Tensor]
    params: list[torch.Tensor]
    noise: torch.Tensor  # x_T (a parameter for the latent target)
    # the run's settings, filled in from the resolved settings by ``tasks.make`` (:data:`RUN_SETTINGS`):
    # a family's factory need not pass them
    seed: int = 0
    batch: int = 1
    iterations: int = 1
    optimizer: str = "adam"
    lr: float = 0.0
    dtype: torch.dtype = torch.float32
    device: torch.device = torch.device("cpu")
    decode: Callable[[torch.Tensor], torch.Tensor] = lambda x: x
    to_images: Callable[[torch.Tensor], torch.Tensor] = lambda x: x
    condition: Callable[[int], Any] | None = None  # batch size -> conditioning (may hold parameters)
    uncondition: Callable[[int], Any] | None = None  # batch size -> null conditioning for guidance
    guidance_scale: float = 1.0
    judge: Callable[[torch.Tensor], dict] | None = None  # held-out scores of final samples
    eval_noise: torch.Tensor | None = None  # held-out noises for parameter targets (lora, weights)
    judge_noise: torch.Tensor | None = None  # held-out noises the judge's samples start from (FID: >= 256)
    pipeline: Any = None
    prompts: list[str] | None = None
    config: dict = field(default_factory=dict)  # the resolved settings, for records
    prior: str = "none"  # latent tasks: the prior on x_T (sdo_bench.tasks.priors)
    prior_weight: float = 0.0
    _prior_fn: Callable | None = None
    #: parameter targets: what keeps the sampler near its start (sdo_bench.tasks.regularizers)
    regularizer: str = "none"
    regularizer_weight: float = 0.0
    _regularizer: Any = None
    #: the model's training data, made on demand (the ``pretrain`` regularizer's pool: nothing is resident
    #: in a task that does not use it)
    train_data: Callable[[], torch.Tensor] | None = None
    #: the network takes one timestep per sample (a (B,) tensor): the regularizer batches its steps
    batched_timesteps: bool = False
    #: what stays in memory beside the optimized tensors, in the cost model's words ("UNet, VAE, …")
    resident: str = ""
    #: the weighted penalty (prior or regularizer) at the last :meth:`penalty_gradient` (None: none)
    last_penalty: float | None = None

    @property
    def steps(self) -> int:
        return self.sampler.num_steps

    def start_at(self, s: int, x_s: torch.Tensor | None = None) -> None:
        """The authors' regime (SDO's released scripts): the first ``s`` steps run once, under
        ``no_grad``, from the fixed x_T (or the state ``x_s`` is given: an inverted real image); the
        optimized variable becomes ``x_s`` and every gradient and sample runs steps ``s..N-1`` (the
        sampler's tail, re-indexed from 0). Latent target only."""
        if self.target != "latent":
            raise ValueError(
                f"start_step applies to latent tasks only; {self.name!r} optimizes {self.target}"
            )
        with torch.no_grad():
            x = self.noise if x_s is None else x_s
            for k in range(s if x_s is None else 0):
                x = self.sampler.step(k, x, self.eps(x, k))
        self.noise = x.detach().clone().requires_grad_(True)
        self.params = [self.noise]
        self.sampler = self.sampler.tail(s)

    def invert(self, x0: torch.Tensor, s: int) -> torch.Tensor:
        """``x0`` (data, model space) DDIM-inverted through the last ``s`` steps, under no_grad: the
        state step ``N - s`` starts from (:meth:`sdo_bench.sampling.base.Sampler.invert`)."""
        with torch.no_grad():
            return self.sampler.invert(x0, s, self.eps)

    def set_prior(self, name: str, weight: float) -> None:
        """Optimize ``J = mean reward - weight * mean R(x_T)`` with the prior ``R`` of
        :mod:`sdo_bench.tasks.priors` (``none``, ``norm``, ``dno``). Latent target only, from x_T
        (start_step 0);
        ``weight`` as :func:`sdo_bench.spec.settings.check` accepts it (``tasks.build`` checks it)."""
        from . import priors

        fn = priors.build(name, self.noise[0].numel())
        if fn is not None and self.target != "latent":
            raise ValueError(
                f"prior applies to latent tasks only; {self.name!r} optimizes {self.target} (set prior: none)"
            )
        if fn is not None and self.sampler.start_step:
            raise ValueError(
                "prior is a prior on the Gaussian x_T; with start_step > 0 the variable is x_s "
                "(set prior: none)"
            )
        self.prior, self.prior_weight, self._prior_fn = name, float(weight), fn

    def set_regularizer(self, name: str, weight: float) -> None:
        """Optimize ``J = mean reward - weight * R(θ)`` with the regularizer ``R`` of
        :mod:`sdo_bench.tasks.regularizers` (``none``, ``kl``, ``pretrain``). Parameter targets only."""
        from . import regularizers

        self._regularizer = regularizers.build(name, self)
        self.regularizer, self.regularizer_weight = name, float(weight)

    @torch.no_grad()
    def penalty(self) -> float:
        """``mean R(x_T)`` at the current x_T (0 without a prior)."""
        if self._prior_fn is None:
            return 0.0
        return float(self._prior_fn(self.noise).mean())

    def regularization(self) -> float:
        """``R(θ)`` of the regularizer at the current parameters (0 without one)."""
        if self._regularizer is None:
            return 0.0
        return self._regularizer.value_and_gradient(self, grad=False)[0]

    def objective(self, reward: float, regularization: float | None = None) -> float:
        """The optimized objective for a mean reward at the current parameters (``regularization``:
        :meth:`regularization` at them, where the caller has it already)."""
        reg = self.regularization() if regularization is None else regularization
        return reward - self.prior_weight * self.penalty() - self.regularizer_weight * reg

    def penalty_gradient(self) -> list[torch.Tensor] | None:
        """Exact gradient of ``-prior_weight * mean R(x_T)`` (latent) or ``-regularizer_weight * R(θ)``
        (parameter targets) w.r.t. ``parameters()``; None without either."""
        self.last_penalty = None  # the weighted penalty at these parameters, from the same pass
        if self._regularizer is not None and self.regularizer_weight != 0:
            value, grads = self._regularizer.value_and_gradient(self)
            self.last_penalty = self.regularizer_weight * value
            return [-self.regularizer_weight * g for g in grads]
        if self._prior_fn is None or self.prior_weight == 0:
            return None
        z = self.noise.detach().requires_grad_(True)
        with torch.enable_grad():
            penalty = self.prior_weight * self._prior_fn(z).mean()
            (g,) = torch.autograd.grad(-penalty, z)
        self.last_penalty = float(penalty.detach())
        return [g]

    def parameters(self) -> list[torch.Tensor]:
        return list(self.params)

    def x_T(self) -> torch.Tensor:
        return self.noise

    # -- the network ---------------------------------------------------------------------------------
    def eps_at(self, x: torch.Tensor, t) -> torch.Tensor:
        """Network output at (continuous) timestep ``t``, with guidance when configured."""
        n = x.shape[0]
        cond = self.condition(n) if self.condition is not None else None
        if self.uncondition is None or self.guidance_scale == 1.0:
            return self.network(x, t, cond)
        uncond = self.uncondition(n)
        if isinstance(t, torch.Tensor) and t.numel() > 1:
            t = torch.cat([t, t])
        out = self.network(torch.cat([x, x]), t, _cat_cond(uncond, cond))
        eps_u, eps_c = out.chunk(2)
        return eps_u + self.guidance_scale * (eps_c - eps_u)

    def eps(self, x: torch.Tensor, k: int) -> torch.Tensor:
        return self.eps_at(x, self.sampler.timesteps[k])

    def eps_reached_at(self, x: torch.Tensor, t) -> torch.Tensor:
        """``eps_at`` up to a term the parameters do not reach: where they are the condition under
        guidance, the null conditioning's ``ε_u`` is fixed, so ``eps_at = (1 - w) ε_u + w ε_c`` differs
        between two parameter values by ``w ε_c`` alone, and this is ``w ε_c`` (one network call over
        the batch instead of two); elsewhere ``eps_at``. For differences of ε between parameter values
        (the ``kl`` regularizer), exact."""
        if self.target != "condition" or self.uncondition is None or self.guidance_scale == 1.0:
            return self.eps_at(x, t)
        return self.guidance_scale * self.network(x, t, self.condition(x.shape[0]))

    # -- reward --------------------------------------------------------------------------------------
    def reward_per_sample(self, x_N: torch.Tensor) -> torch.Tensor:
        return self.reward_fn(self.decode(x_N))

    def _start(self, held_out: bool) -> torch.Tensor:
        if held_out and self.eval_noise is not None:
            return self.eval_noise
        return self.x_T()

    @torch.no_grad()
    def final_state(self, held_out: bool = False) -> torch.Tensor:
        x = self._start(held_out)
        for k in range(self.steps):
            x = self.sampler.step(k, x, self.eps(x, k))
        return x

    @torch.no_grad()
    def reward(self, held_out: bool = False) -> torch.Tensor:
        """Mean reward of a full no-grad sample at the current parameters (shape []).

        ``held_out=True`` samples from the task's held-out noises where it has them (the ``lora`` and
        ``weights`` targets optimize on a fixed set of training noises)."""
        return self.reward_per_sample(self.final_state(held_out)).mean()

    @torch.no_grad()
    def evaluate(self, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One no-grad sample from ``noise``: the reward of each sample (B,) and the decoded images
        (as :meth:`sample`), from one pass (every evaluation of a run reuses it)."""
        x = noise
        for k in range(self.steps):
            x = self.sampler.step(k, x, self.eps(x, k))
        decoded = self.decode(x)
        return self.reward_fn(decoded), self.to_images(decoded)

    @torch.no_grad()
    def sample(self, held_out: bool = False) -> torch.Tensor:
        """Decoded images (B, C, H, W) in [0, 1] of the same no-grad sample (GMM: the points,
        (B, D, 1, 1))."""
        return self.to_images(self.decode(self.final_state(held_out)))

    @torch.no_grad()
    def judge_sample(self) -> torch.Tensor:
        """The images the judge scores: from ``judge_noise`` where the task has it (parameter and
        condition targets: enough held-out noises for FID), else as :meth:`sample` (held out)."""
        if self.judge_noise is None:
            return self.sample(held_out=True)
        x = self.judge_noise
        for k in range(self.steps):
            x = self.sampler.step(k, x, self.eps(x, k))
        return self.to_images(self.decode(x))

    def make_optimizer(self) -> torch.optim.Optimizer:
        if self.optimizer == "adam":
            return torch.optim.Adam(self.params, lr=self.lr)
        if self.optimizer == "adam-beta2-0.9":  # the SDO authors' scripts
            return torch.optim.Adam(self.params, lr=self.lr, betas=(0.9, 0.9))
        if self.optimizer == "sgd":
            return torch.optim.SGD(self.params, lr=self.lr)
        settings.choice("optimizer", self.optimizer, settings.OPTIMIZERS)
        raise AssertionError(self.optimizer)


def _cat_cond(uncond, cond):
    if isinstance(uncond, dict):
        return {k: torch.cat([uncond[k], cond[k]]) for k in cond}
    return torch.cat([uncond, cond])


def seeded_normal(shape, seed: int, dtype: torch.dtype, device) -> torch.Tensor:
    """Standard normal noise drawn in float64 on the CPU from ``seed``: equal across dtypes and devices."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype=dtype, device=device)


def freeze(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def add_lora(module, rank: int, seed: int, targets) -> list[torch.Tensor]:
    """A peft LoRA adapter (rank ``rank``, B = 0) on ``module``'s ``targets``; its parameters."""
    from peft import LoraConfig

    with torch.random.fork_rng(devices=[]):  # LoRA's A matrices draw from the global RNG
        torch.manual_seed(seed)
        module.add_adapter(
            LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=True, target_modules=list(targets))
        )
    params = [p for n, p in module.named_parameters() if "lora_" in n]
    for p in params:
        p.requires_grad_(True)
    return params


def frozen(module: torch.nn.Module, dtype, device) -> torch.nn.Module:
    """``module`` on ``device`` in ``dtype``, frozen, in eval mode (quietly: no diffusers notice per cast)."""
    import diffusers.utils.logging as dlog

    level = dlog.get_verbosity()
    dlog.set_verbosity_error()
    module.to(device=device)
    if any(p.dtype != dtype for p in module.parameters()):
        module.to(dtype=dtype)
    dlog.set_verbosity(level)
    module.requires_grad_(False)
    return module.eval()
