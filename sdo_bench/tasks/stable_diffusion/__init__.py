"""Stable Diffusion tasks: ``tiny-sd-*`` (CPU-sized, random weights, offline) and ``sd15-*`` (the user's
SD1.5 weights, paper scale).

Sample ``i`` of a batch uses prompt ``prompts[i % len(prompts)]`` (``task.prompts`` lists them per
sample, so ``task.pipeline(task.prompts, latents=task.x_T(), ...)`` reproduces ``task.sample()``).
Sampling is the pipeline's own: DDIM (eta = 0) on SD1.5's scheduler config, classifier-free guidance
against the empty prompt, VAE decode inside the graph. Targets (docs/design.md §4):

* ``latent``: x_T of the batch;
* ``condition``: the prompt embeddings (text-encoder output, one (77, D) tensor per distinct prompt);
  the empty-prompt embedding of the guidance stays fixed;
* ``lora``: a peft LoRA adapter on the UNet's attention projections, trained on a fixed set of noises
  and evaluated on ``eval_batch`` held-out ones.

Rewards: HPSv2 / v2.1 (prompt-aware) or the LAION aesthetic predictor, from local checkpoints. The
``tiny-sd`` tasks use HPS's code path on the tiny random open_clip config, so their reward has no meaning;
they exist to time and measure the SD code path.
"""

from __future__ import annotations

import torch

from ...measure.counters import CountingNetwork
from ...rewards import clip_models, tiny_clip
from ...rewards.aesthetic import WHERE_CLIP, WHERE_HEAD, load_aesthetic
from ...rewards.hpsv2 import VERSIONS as HPS_VERSIONS
from ...rewards.hpsv2 import WHERE as HPS_WHERE
from ...rewards.hpsv2 import load_hpsv2
from ...sampling.ddim import DDIMSampler
from ...spec import outputs
from ...spec import settings as S
from ...spec.outputs import TINY_SD_FILES
from ...weights import require, skipped
from ..base import Task, add_lora, seeded_normal
from ..latent_world import PAPER_PROMPTS, TINY_PROMPTS, WHERE_TINY, check_tiny_reward
from ..registry import WorkflowFiles, register
from . import authors  # noqa: F401  (the paper's experiments at full scale register their tasks)
from . import pipeline as sd
from . import tiny as tiny_sd


def _check(s: dict, built=(), *, model: str, reward: str) -> None:
    """The Stable Diffusion options, each by its rule, and every local path the config names (before
    anything large is loaded; ``built``: paths a workflow rule makes first)."""
    S.strings("prompts", s["prompts"])
    S.number("guidance_scale", s["guidance_scale"], signed=True, dtype=s["dtype"])
    S.integer("lora_rank", s.get("lora_rank", 1), least=1)
    S.optional(S.integer, "eval_batch", s.get("eval_batch"), least=1)
    if "hps_version" in s:
        S.choice("hps_version", s["hps_version"], HPS_VERSIONS)
    if model == "sd15":
        require(s["sd15_path"], key="sd15_path", expected=sd.PIPELINE_FILES, kind="dir", where=sd.WHERE_SD15)
        if reward == "hpsv2":
            require(s["hps_checkpoint"], key="hps_checkpoint", where=HPS_WHERE)
        else:
            require(s["aesthetic_clip"], key="aesthetic_clip", where=WHERE_CLIP)
            require(s["aesthetic_head"], key="aesthetic_head", where=WHERE_HEAD)
        return
    check_tiny_reward(s, built, ("weights_dir", TINY_SD_FILES))


def check_for(model: str, reward: str):
    return lambda s, built=(): _check(s, built, model=model, reward=reward)


def _per_sample(prompts: list[str], n: int) -> list[str]:
    return [prompts[i % len(prompts)] for i in range(n)]


def _build(
    name,
    target,
    *,
    model,
    reward,
    steps,
    batch,
    iterations,
    seed,
    dtype,
    device,
    lr,
    optimizer,
    prompts,
    guidance_scale,
    weights_dir=None,
    reward_dir=None,
    sd15_path=None,
    hps_checkpoint=None,
    hps_version="v2.1",
    hps_model="ViT-H-14",
    aesthetic_clip=None,
    aesthetic_head=None,
    aesthetic_model="ViT-L-14",
    lora_rank=4,
    eval_batch=None,
) -> Task:
    prompts = S.strings("prompts", prompts)  # checked by check(); a single string is a list of one

    # -- model ---------------------------------------------------------------------------------------
    if skipped():  # configs_only (cost model): the architectures, no weights
        configs = tiny_sd.CONFIGS if model == "tiny-sd" else sd.sd15_configs()
        pipe = sd.pipeline_from_configs(configs, dtype=dtype, device=device)
    elif model == "tiny-sd":
        where = WHERE_TINY.format(family="sd")
        pipe = sd.load_pipeline(tiny_sd.ensure(weights_dir), dtype=dtype, device=device, where=where)
    else:
        pipe = sd.load_pipeline(sd15_path, key="sd15_path", dtype=dtype, device=device, where=sd.WHERE_SD15)
    unet = pipe.unet

    # -- reward --------------------------------------------------------------------------------------
    distinct = list(prompts)
    if model == "tiny-sd":
        hps = None if skipped() else tiny_clip.ensure(reward_dir) / "hps.pt"
        reward_fn = load_hpsv2(
            hps, distinct, key="reward_dir", model=clip_models.TINY, dtype=dtype, device=device
        )
    elif reward == "hpsv2":
        reward_fn = load_hpsv2(
            hps_checkpoint, distinct, version=hps_version, model=hps_model, dtype=dtype, device=device
        )
    else:
        reward_fn = load_aesthetic(
            aesthetic_clip, aesthetic_head, model=aesthetic_model, dtype=dtype, device=device
        )

    # -- conditioning --------------------------------------------------------------------------------
    cond_emb, uncond_emb = sd.encode_prompts(pipe, distinct)  # (P, 77, D) each
    uncond_emb = uncond_emb[:1]

    def per_sample(emb):
        return lambda n: emb[torch.arange(n, device=emb.device) % emb.shape[0]]

    condition = per_sample(cond_emb)
    noise = seeded_normal(sd.latent_shape(pipe, batch), seed, dtype, device)
    eval_noise = None
    if target == "latent":
        noise.requires_grad_(True)
        params = [noise]
    elif target == "condition":
        cond_emb = cond_emb.detach().clone().requires_grad_(True)
        condition = per_sample(cond_emb)
        params = [cond_emb]
    elif target == "lora":
        params = add_lora(unet, lora_rank, seed, sd.LORA_TARGETS)
        eval_noise = seeded_normal(
            sd.latent_shape(pipe, eval_batch or 2 * batch), seed + 10_000, dtype, device
        )
    else:
        raise ValueError(f"unknown target {target!r}")

    task = Task(
        name=name,
        model_name=model,
        reward_name=reward,
        target=target,
        network=CountingNetwork(sd.SDDenoiser(unet)),
        sampler=DDIMSampler(pipe.scheduler, steps),
        reward_fn=reward_fn,
        params=params,
        noise=noise,
        decode=sd.decoder(pipe),
        condition=condition,
        uncondition=lambda n: uncond_emb.expand(n, -1, -1),
        guidance_scale=float(guidance_scale),
        eval_noise=eval_noise,
        pipeline=pipe,
        prompts=_per_sample(distinct, batch),
        resident=RESIDENT[model if model == "tiny-sd" else reward],
    )
    return task


#: what stays in memory, in the cost model's words (tiny-sd: tiny random components)
RESIDENT = {
    "tiny-sd": "tiny UNet, VAE, CLIP text encoder (resident), tiny HPS",
    "hpsv2": "UNet, VAE, CLIP-L text encoder (resident), HPSv2 ViT-H-14",
    "aesthetic": "UNet, VAE, CLIP-L text encoder (resident), CLIP ViT-L-14 + aesthetic head",
}

#: the workflow builds the tiny checkpoints (``build_tiny``) where the config does not name them
TINY_WORKFLOW = WorkflowFiles(
    inputs={"weights_dir": outputs.TINY_SD_FILES, "reward_dir": outputs.TINY_CLIP_FILES},
    defaults={"weights_dir": outputs.TINY_SD, "reward_dir": outputs.TINY_CLIP},
)
TINY = dict(steps=20, batch=2, prompts=TINY_PROMPTS, guidance_scale=7.5, weights_dir=None, reward_dir=None)
SD15 = dict(steps=50, batch=4, prompts=PAPER_PROMPTS, guidance_scale=7.5, sd15_path=None)
# the open_clip architectures are options only so that tests can run these tasks on tiny checkpoints
HPS = dict(hps_checkpoint=None, hps_version="v2.1", hps_model="ViT-H-14")
AESTHETIC = dict(aesthetic_clip=None, aesthetic_head=None, aesthetic_model="ViT-L-14")


@register(
    "tiny-sd-latent",
    "tiny random SD (CPU-sized), optimize x_T; tiny-HPS reward (no meaning); norm prior",
    workflow=TINY_WORKFLOW,
    check=check_for("tiny-sd", "hpsv2"),
    iterations=5,
    lr=0.05,
    # the digits weight; not tuned here: a random reward has no hack to measure and no judge
    prior="norm",
    prior_weight=3.0,
    **TINY,
)
def tiny_sd_latent(name, **kw):
    return _build(name, "latent", model="tiny-sd", reward="hpsv2", **kw)


@register(
    "tiny-sd-condition",
    "tiny random SD, optimize the prompt embeddings; tiny-HPS reward",
    workflow=TINY_WORKFLOW,
    check=check_for("tiny-sd", "hpsv2"),
    iterations=5,
    lr=0.01,
    **TINY,
)
def tiny_sd_condition(name, **kw):
    return _build(name, "condition", model="tiny-sd", reward="hpsv2", **kw)


@register(
    "tiny-sd-lora",
    "tiny random SD, optimize a LoRA adapter from fixed noises; tiny-HPS reward",
    workflow=TINY_WORKFLOW,
    check=check_for("tiny-sd", "hpsv2"),
    iterations=5,
    lr=1e-3,
    lora_rank=4,
    eval_batch=4,
    **TINY,
)
def tiny_sd_lora(name, **kw):
    return _build(name, "lora", model="tiny-sd", reward="hpsv2", **kw)


@register(
    "sd15-latent-hpsv2",
    "SD1.5 (local weights), optimize x_T for HPSv2",
    check=check_for("sd15", "hpsv2"),
    iterations=20,
    lr=0.01,
    **SD15,
    **HPS,
)
def sd15_latent_hpsv2(name, **kw):
    return _build(name, "latent", model="sd15", reward="hpsv2", **kw)


@register(
    "sd15-latent-aesthetic",
    "SD1.5 (local weights), optimize x_T for the LAION aesthetic score",
    check=check_for("sd15", "aesthetic"),
    iterations=20,
    lr=0.01,
    **SD15,
    **AESTHETIC,
)
def sd15_latent_aesthetic(name, **kw):
    return _build(name, "latent", model="sd15", reward="aesthetic", **kw)


@register(
    "sd15-condition-hpsv2",
    "SD1.5 (local weights), optimize the prompt embeddings for HPSv2",
    check=check_for("sd15", "hpsv2"),
    iterations=20,
    lr=1e-3,
    **SD15,
    **HPS,
)
def sd15_condition_hpsv2(name, **kw):
    return _build(name, "condition", model="sd15", reward="hpsv2", **kw)


@register(
    "sd15-lora-hpsv2",
    "SD1.5 (local weights), optimize a LoRA adapter for HPSv2",
    check=check_for("sd15", "hpsv2"),
    iterations=20,
    lr=1e-4,
    lora_rank=4,
    eval_batch=8,
    **SD15,
    **HPS,
)
def sd15_lora_hpsv2(name, **kw):
    return _build(name, "lora", model="sd15", reward="hpsv2", **kw)
