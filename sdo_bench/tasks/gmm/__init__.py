"""The analytic GMM world: tasks ``gmm-latent`` and ``gmm-weights`` (docs/design.md §4).

A K-component mixture (means on a ring of the given radius, isotropic std) sampled with DDIM over a
linear-β DDPM schedule (1000 training steps, "trailing" spacing so that the first step starts from
``t = 999`` and the last lands on ``ᾱ = 1``). The reward ``gmm-target`` pulls samples towards a target
point placed between two modes.

* ``gmm-latent`` optimizes the initial noise ``x_T`` of ``batch`` samples;
* ``gmm-weights`` optimizes the mixture means ``μ`` (the network weights of this model) from a fixed set
  of ``batch`` noises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from diffusers import DDIMScheduler

from ...measure.counters import CountingNetwork
from ...sampling import DDIMSampler, real_tensors
from ...spec import settings as S
from ..base import Task, freeze, seeded_normal
from ..registry import register
from .model import GMMDenoiser, ring_means
from .reward import GMMTargetReward

GMM_DEFAULTS = dict(
    steps=20, batch=32, iterations=50, components=8, dim=2, radius=2.0, std=0.25, target_point=(2.0, 2.0)
)


def check(s: dict, built=()) -> None:
    """The GMM options, each by its rule (``tasks.settings_for`` calls it)."""
    S.integer("components", s["components"], least=1)
    S.integer("dim", s["dim"], least=1)
    S.number("radius", s["radius"], dtype=s["dtype"])
    S.number("std", s["std"], positive=True, dtype=s["dtype"])
    point = s["target_point"]
    if not isinstance(point, (list, tuple)) or len(point) != s["dim"]:
        raise ValueError(f"target_point must be a list of dim = {s['dim']} numbers, got {point!r}")
    for x in point:
        S.number("target_point", x, signed=True, dtype=s["dtype"])


#: the regularizer ``pretrain``'s pool: this many draws of the initial mixture (it takes minibatches of them)
TRAIN_BATCH = 1024


def mixture_samples(model: GMMDenoiser, n: int) -> torch.Tensor:
    """``n`` draws of the mixture the model starts as (its training data), the same for every seed."""
    g = torch.Generator().manual_seed(0)
    means = model.means.detach()
    which = torch.randint(0, len(means), (n,), generator=g)
    noise = torch.randn((n, means.shape[1]), generator=g, dtype=torch.float64).to(means)
    return means[which] + model.std * noise


def gmm_scheduler() -> DDIMScheduler:
    with real_tensors():  # its alphas feed the analytic ε as numbers (also under the cost model)
        return _scheduler()


def _scheduler() -> DDIMScheduler:
    from diffusers import DDIMScheduler

    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_schedule="linear",
        beta_start=1e-4,
        beta_end=0.02,
        clip_sample=False,
        set_alpha_to_one=True,
        timestep_spacing="trailing",
        steps_offset=0,
    )


def _build(
    name,
    target,
    *,
    steps,
    batch,
    iterations,
    components,
    dim,
    radius,
    std,
    target_point,
    seed,
    dtype,
    device,
    lr,
    optimizer,
) -> Task:
    scheduler = gmm_scheduler()
    model = GMMDenoiser(ring_means(components, dim, radius, torch.float64), std, scheduler.alphas_cumprod).to(
        dtype=dtype, device=device
    )
    freeze(model)
    point = torch.zeros(dim, dtype=dtype, device=device)
    point[:] = torch.tensor(list(target_point), dtype=dtype)
    noise = seeded_normal((batch, dim), seed, dtype, device)
    if target == "latent":
        noise.requires_grad_(True)
        params = [noise]
        train_data = None
    else:
        model.means.requires_grad_(True)
        params = [model.means]
        train_data = lambda: mixture_samples(model, TRAIN_BATCH)  # noqa: E731  (the initial means)
    return Task(
        name=name,
        model_name="gmm",
        reward_name="gmm-target",
        resident="GMM denoiser (analytic), target density (reward)",
        target=target,
        network=CountingNetwork(model),
        sampler=DDIMSampler(scheduler, steps),
        reward_fn=GMMTargetReward(point),
        params=params,
        noise=noise,
        to_images=lambda x: x[:, :, None, None],
        train_data=train_data,
    )


@register(
    "gmm-latent", "analytic GMM, optimize x_T towards a target point", check=check, lr=0.05, **GMM_DEFAULTS
)
def gmm_latent(name, **kw):
    return _build(name, "latent", **kw)


@register(
    "gmm-weights",
    "analytic GMM, optimize the mixture means from fixed noises",
    check=check,
    lr=0.02,
    **GMM_DEFAULTS,
)
def gmm_weights(name, **kw):
    return _build(name, "weights", **kw)
