"""Stable Diffusion 3.5: ``tiny-sd3-*`` (CPU-sized, random weights, offline) and ``sd35-medium-*`` /
``sd35-large-*`` (paper scale, in the cost model: built from the configs shipped in
``sdo_bench/assets/sd35`` and ``assets/text_encoders``, no weights).

Sampling is the pipeline's: flow-matching Euler (:class:`~sdo_bench.sampling.flow.FlowMatchSampler`,
shift 3.0) with classifier-free guidance, the VAE decode in the graph (:mod:`.model`). Targets and the
task's construction are the shared ones (:mod:`sdo_bench.tasks.latent_world`). The tiny tasks'
conditioning is a seeded draw per prompt (random weights read no text); their reward is HPS's code path
on the tiny open_clip (no meaning), as for ``tiny-sd``.
"""

from __future__ import annotations

from ...sampling.flow import FlowMatchSampler, flow_scheduler
from ...spec import settings as S
from ...weights import asset_config
from ..base import frozen
from ..latent_world import (
    LORA_TARGETS,
    PAPER_PROMPTS,
    PAPER_TARGETS,
    TINY_PROMPTS,
    TINY_REWARD_WORKFLOW,
    TINY_TARGETS,
    World,
    build_task,
    check_options,
    cost_model_only,
    hps_reward,
    seeded_embeddings,
    vae_decoder,
)
from ..registry import register
from ..text_encoders import resident_encoders
from . import model as m

#: the published models' sampling defaults (model cards): steps, guidance, resolution
MODELS = {
    "sd35-medium": dict(label="SD3.5 Medium", config="transformer-medium.json", steps=40, guidance_scale=4.5),
    "sd35-large": dict(label="SD3.5 Large", config="transformer-large.json", steps=28, guidance_scale=3.5),
}


def max_resolution(transformer_config: dict, vae_factor: int) -> int:
    """The largest side the MMDiT's positional embedding covers (pos_embed_max_size patches)."""
    return transformer_config["pos_embed_max_size"] * transformer_config["patch_size"] * vae_factor


def _check(s: dict, built=(), *, model: str) -> None:
    S.number("shift", s["shift"], positive=True)
    if model == "tiny-sd3":
        return check_options(s, built)
    config = asset_config(f"sd35/{MODELS[model]['config']}")
    top = max_resolution(config, 8)
    check_options(s, built, resolution=dict(multiple=8 * config["patch_size"], top=top, model=model))


def _world(model, *, steps, prompts, seed, dtype, device, resolution=None, text_encoders="resident",
           guidance_scale, shift, reward_dir=None, **_) -> World:  # fmt: skip
    import torch
    from diffusers import AutoencoderKL, SD3Transformer2DModel

    if model == "tiny-sd3":
        with torch.random.fork_rng(devices=[]):  # tiny-sd3's random weights: one fixed draw
            torch.manual_seed(0)
            transformer = SD3Transformer2DModel(**m.TINY["transformer"])
            vae = AutoencoderKL(**m.TINY["vae"])
        scheduler = flow_scheduler(dict(m.TINY["scheduler"], shift=shift))
        config, tokens = m.TINY["transformer"], m.TINY["tokens"]
        encoders, resident = {}, "transformer, VAE, tiny HPS (conditioning: seeded per prompt)"
    else:
        cost_model_only(model)
        config = asset_config(f"sd35/{MODELS[model]['config']}")
        transformer = SD3Transformer2DModel(**config)
        vae = AutoencoderKL(**asset_config("sd35/vae.json"))
        scheduler = flow_scheduler(dict(asset_config("sd35/scheduler.json"), shift=shift))
        tokens = m.CLIP_TOKENS + m.T5_TOKENS
        encoders, names = resident_encoders(("clip-l", "clip-bigg", "t5-xxl"), text_encoders, dtype, device)
        resident = f"transformer, VAE, {names}, HPSv2 ViT-H-14"
    transformer, vae = frozen(transformer, dtype, device), frozen(vae, dtype, device)
    factor = m.vae_scale(vae)
    side = (resolution or transformer.config.sample_size * factor) // factor
    channels = transformer.config.in_channels
    shapes = {
        "prompt_embeds": (tokens, config["joint_attention_dim"]),
        "pooled": (config["pooled_projection_dim"],),
    }
    cond = seeded_embeddings(shapes, prompts, seed, dtype, device)
    uncond = seeded_embeddings(shapes, [""], seed + 1, dtype, device)
    return World(
        model_name=model,
        denoiser=m.SD3Denoiser(transformer),
        adapted=transformer,
        lora_targets=LORA_TARGETS,
        sampler=FlowMatchSampler(scheduler, steps),
        decode=vae_decoder(vae),
        latent_shape=lambda b: (b, channels, side, side),
        cond=cond,
        uncond=uncond,
        guidance_scale=guidance_scale,
        reward_fn=hps_reward(model, prompts, reward_dir, dtype=dtype, device=device),
        modules={"transformer": transformer, "vae": vae, **encoders},
        resident=resident,
    )


def _build(name, target, model, **kw):
    return build_task(name, target, _world(model, **kw), **kw)


TINY = dict(steps=20, batch=2, prompts=TINY_PROMPTS, guidance_scale=7.0, shift=3.0, reward_dir=None)


def _register_tiny(target):
    @register(
        f"tiny-sd3-{target}",
        f"tiny random SD3 (MMDiT, flow matching; CPU-sized), optimize {target}; tiny-HPS reward (no meaning)",
        workflow=TINY_REWARD_WORKFLOW,
        check=lambda s, built=(): _check(s, built, model="tiny-sd3"),
        **TINY_TARGETS[target],
        **TINY,
    )
    def factory(name, **kw):
        return _build(name, target, "tiny-sd3", **kw)


def _register_paper(model, target):
    spec = MODELS[model]

    @register(
        f"{model}-{target}-hpsv2",
        f"{spec['label']} (cost model: configs, no weights), optimize {target} for HPSv2",
        cost_only=True,
        check=lambda s, built=(): _check(s, built, model=model),
        steps=spec["steps"],
        batch=1,
        prompts=PAPER_PROMPTS[:1],
        guidance_scale=spec["guidance_scale"],
        resolution=1024,
        shift=3.0,
        text_encoders="resident",
        **PAPER_TARGETS[target],
    )
    def factory(name, **kw):
        return _build(name, target, model, **kw)


for _target in TINY_TARGETS:
    _register_tiny(_target)
    for _model in MODELS:
        _register_paper(_model, _target)
