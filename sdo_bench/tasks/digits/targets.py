"""The embedded default world: the trained digits UNet, the digit-classifier reward and the judge.

Tasks (docs/design.md §4), all rewarding ``log p(target_digit | image)`` under the reward classifier:

* ``digits-latent``: optimize x_T of ``batch`` unconditional samples (null class, no guidance), with
  ReNO's norm prior on x_T by default (``prior``, ``prior_weight``: :mod:`sdo_bench.tasks.priors`);
* ``digits-condition``: optimize the class embedding vector (one, shared by the batch), starting from the
  embedding of ``source_digit`` (default: the null class), sampled with classifier-free guidance
  against the fixed null embedding;
* ``digits-lora``: optimize a peft LoRA adapter (rank ``lora_rank``) on the UNet's attention
  projections and ResNet convolutions, unconditional sampling from a fixed set of ``batch`` training
  noises; evaluated on ``eval_batch`` held-out noises;
* ``digits-weights``: the same with every UNet weight.

The parameter targets are regularized by default (:mod:`sdo_bench.tasks.regularizers`), each with the kind
and weight measured to keep ``bptt``'s final samples digits at the least cost in reward (N = 10, 10
iterations, seeds 0-2, the judge's p(a digit) >= 0.8 on every seed; docs/regularizer-selection.md):
``kl`` at 3000 for the condition and for LoRA, ``pretrain`` at 3000 for all weights.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ...measure.counters import CountingNetwork
from ...spec import outputs
from ...spec import settings as S
from ...weights import ASSETS
from ..base import Task, freeze, seeded_normal
from ..registry import WorkflowFiles, register
from .classifier import DigitClassifierReward, load_classifier
from .data import to_unit
from .judge import DigitsJudge

DEFAULT_WEIGHTS = ASSETS / "digits"
LORA_TARGETS = ["to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2"]

COMMON = dict(steps=50, batch=8, target_digit=3, weights_dir=None, judge=True)
#: condition, lora and weights: the judge scores samples from this many held-out noises (FID, KID)
JUDGED = dict(judge_samples=256)
#: the workflow: the weights in the config's ``weights_dir`` (trained by its rules where missing), and
#: the model's quality as the judge sees it (``sdo-bench evaluate-model``) once per config
WORKFLOW = WorkflowFiles(
    inputs={"weights_dir": (*outputs.DIGITS_MODEL, *outputs.DIGITS_CLASSIFIERS)},
    defaults={"weights_dir": "{weights_dir}"},
    outputs=("digits_model_quality",),
)
#: the rectified flow of the same digits: its weights beside the DDPM's, its own quality
FLOW_WORKFLOW = WorkflowFiles(
    inputs={"weights_dir": (*outputs.DIGITS_FLOW_MODEL, *outputs.DIGITS_CLASSIFIERS)},
    defaults={"weights_dir": "{weights_dir}"},
    outputs=("digits_flow_model_quality",),
)
MODEL_NAMES = {"epsilon": "digits", "flow": "digits-flow"}


def check(s: dict, built=()) -> None:
    """The digits options, each by its rule (``tasks.settings_for`` calls it)."""
    S.integer("target_digit", s["target_digit"], least=0, most=9)
    S.optional(S.integer, "source_digit", s.get("source_digit"), least=0, most=9)
    S.number("guidance_scale", s.get("guidance_scale", 1.0), signed=True, dtype=s["dtype"])
    S.boolean("judge", s["judge"])
    S.integer("judge_samples", s.get("judge_samples", 2), least=2)  # FID and KID need two
    S.optional(S.integer, "eval_batch", s.get("eval_batch"), least=1)
    S.integer("lora_rank", s.get("lora_rank", 1), least=1)
    if s["weights_dir"] is not None and not isinstance(s["weights_dir"], str):
        raise ValueError(f"weights_dir must be a directory path, got {s['weights_dir']!r}")


def pretrain_pool() -> torch.Tensor:
    """The regularizer ``pretrain``'s data: every training digit (model space); it draws a fresh
    minibatch from them at each gradient (:mod:`sdo_bench.tasks.regularizers`)."""
    from .data import load_split

    return load_split().train_x.clone()


def resolve_weights_dir(value) -> Path:
    return Path(value) if value else DEFAULT_WEIGHTS


def _build(
    name,
    target,
    *,
    steps,
    batch,
    iterations,
    seed,
    dtype,
    device,
    lr,
    optimizer,
    target_digit,
    weights_dir: str | None,
    judge: bool,
    guidance_scale=1.0,
    source_digit=None,
    eval_batch=None,
    lora_rank=4,
    judge_samples=256,
    objective="epsilon",
) -> Task:
    from .model import MODEL_DIRS, NULL_CLASS, DigitsDenoiser, load_unet, sampler  # diffusers: slow

    wdir = resolve_weights_dir(weights_dir)
    unet = load_unet(wdir / MODEL_DIRS[objective])
    denoiser = DigitsDenoiser(unet)
    freeze(denoiser)
    reward = DigitClassifierReward(load_classifier("reward", wdir), target_digit)
    shape = (batch, 1, unet.config.sample_size, unet.config.sample_size)
    noise = seeded_normal(shape, seed, dtype, device)
    eval_noise = None
    null = torch.tensor([NULL_CLASS])

    if target == "lora":
        from peft import LoraConfig, inject_adapter_in_model

        with torch.random.fork_rng(devices=[]):  # LoRA's A matrices draw from the global RNG
            torch.manual_seed(seed)
            inject_adapter_in_model(
                LoraConfig(
                    r=lora_rank, lora_alpha=lora_rank, init_lora_weights=True, target_modules=LORA_TARGETS
                ),
                unet,
            )
    denoiser.to(dtype=dtype, device=device)
    reward.to(dtype=dtype, device=device)
    null_emb = denoiser.embed(null.to(device)).detach()  # (1, E)

    def fixed(emb):
        return lambda n: emb.expand(n, -1)

    condition, uncondition = fixed(null_emb), None
    if target == "latent":
        noise.requires_grad_(True)
        params = [noise]
    elif target == "condition":
        start = null if source_digit is None else torch.tensor([int(source_digit)])
        emb = denoiser.embed(start.to(device)).detach().clone().requires_grad_(True)
        params = [emb]
        condition, uncondition = fixed(emb), fixed(null_emb)
    elif target == "lora":
        params = [p for n, p in unet.named_parameters() if "lora_" in n]
        for p in params:
            p.requires_grad_(True)
    else:
        params = list(unet.parameters())
        for p in params:
            p.requires_grad_(True)
    judge_noise = train_data = None
    if judge and target != "latent":  # a latent task's samples are its x_T: 8, too few for FID
        judge_noise = seeded_normal((judge_samples, *shape[1:]), seed + 20_000, dtype, device)
    if target in ("lora", "weights"):
        n_eval = eval_batch or 4 * batch
        # the held-out reward is taken on the first judge noises where there are enough: one pass
        # of the final parameters gives the judge's samples and the held-out reward
        if judge_noise is not None and len(judge_noise) >= n_eval:
            eval_noise = judge_noise[:n_eval]
        else:
            eval_noise = seeded_normal((n_eval, *shape[1:]), seed + 10_000, dtype, device)
    if target != "latent":  # the regularizer `pretrain`: the training digits it draws minibatches from
        train_data = lambda: pretrain_pool().to(dtype=dtype, device=device)  # noqa: E731

    task = Task(
        name=name,
        model_name=MODEL_NAMES[objective],
        reward_name="digit-classifier",
        resident=f"{MODEL_NAMES[objective]} UNet, digit classifier (reward)",
        target=target,
        network=CountingNetwork(denoiser),
        sampler=sampler(objective, steps),
        reward_fn=reward,
        params=params,
        noise=noise,
        to_images=to_unit,
        condition=condition,
        uncondition=uncondition,
        guidance_scale=float(guidance_scale) if uncondition is not None else 1.0,
        eval_noise=eval_noise,
        judge_noise=judge_noise,
        train_data=train_data,
        batched_timesteps=True,
        judge=DigitsJudge(wdir, target_digit) if judge else None,
    )
    return task


@register(
    "digits-latent",
    "digits UNet, optimize x_T towards the target digit (ReNO's norm prior on x_T)",
    workflow=WORKFLOW,
    check=check,
    iterations=30,
    lr=0.1,
    # weight 3: unregularized, bptt turns x_T into noise the reward calls a digit (judge p(a digit)
    # 0.37); with the norm prior at weight 3 its samples stay digits (0.92, seeds 0-1, N=20)
    prior="norm",
    prior_weight=3.0,
    **COMMON,
)
def digits_latent(name, **kw):
    return _build(name, "latent", **kw)


@register(
    "digits-condition",
    "digits UNet, optimize the class embedding (with guidance)",
    workflow=WORKFLOW,
    check=check,
    iterations=30,
    lr=0.2,
    guidance_scale=2.0,
    source_digit=None,
    # measured (README, "Regularized parameter targets"): DPOK's KL at 3000 keeps bptt's samples digits
    # on every seed (judge p(a digit) 0.94, 0.83, 0.98; unregularized 0.00); the pretraining loss does not
    regularizer="kl",
    regularizer_weight=3000.0,
    **COMMON,
    **JUDGED,
)
def digits_condition(name, **kw):
    return _build(name, "condition", **kw)


@register(
    "digits-lora",
    "digits UNet, optimize a LoRA adapter from fixed noises",
    workflow=WORKFLOW,
    check=check,
    iterations=30,
    lr=5e-3,
    lora_rank=4,
    eval_batch=32,
    # chosen by benchmarks/select_regularizer.py (docs/regularizer-selection.md): DPOK's KL at 3000
    regularizer="kl",
    regularizer_weight=3000.0,
    **COMMON,
    **JUDGED,
)
def digits_lora(name, **kw):
    return _build(name, "lora", **kw)


@register(
    "digits-weights",
    "digits UNet, optimize all weights from fixed noises",
    workflow=WORKFLOW,
    check=check,
    iterations=60,
    lr=3e-4,
    eval_batch=32,
    # chosen by benchmarks/select_regularizer.py (docs/regularizer-selection.md): ReFL pretraining, 3000
    regularizer="pretrain",
    regularizer_weight=3000.0,
    **COMMON,
    **JUDGED,
)
def digits_weights(name, **kw):
    return _build(name, "weights", **kw)


def _register_flow(target: str) -> None:
    """``digits-flow-<target>``: the same task on the rectified flow of the same digits (the DDPM
    task's settings, its regularizer weights included: measured on the DDPM, not re-tuned)."""
    from ..registry import spec

    what = spec(f"digits-{target}").description.split(", ", 1)[1]

    @register(
        f"digits-flow-{target}",
        f"digits rectified flow (flow-matching Euler), {what}",
        workflow=FLOW_WORKFLOW,
        check=check,
        **spec(f"digits-{target}").defaults,
    )
    def factory(name, **kw):
        return _build(name, target, objective="flow", **kw)


for _target in ("latent", "condition", "lora", "weights"):
    _register_flow(_target)
