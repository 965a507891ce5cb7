"""FLUX.1: ``tiny-flux-*`` (CPU-sized, random weights, offline) and ``flux-dev-*`` / ``flux-schnell-*``
(paper scale, in the cost model: built from the configs shipped in ``sdo_bench/assets/flux`` and
``assets/text_encoders``, no weights).

Sampling is the pipeline's: flow-matching Euler on ``σ = linspace(1, 1/N, N)`` with FLUX.1-dev's
resolution-dependent shift (``mu`` from the image's token count) — schnell: no shift —
(:class:`~sdo_bench.sampling.flow.FlowMatchSampler`); FLUX.1-dev's guidance is distilled into the model
(an input, no doubled batch) and schnell takes none; the VAE decode is in the graph (:mod:`.model`).
Targets and construction are the shared ones (:mod:`sdo_bench.tasks.latent_world`).
"""

from __future__ import annotations

from ...sampling.flow import FlowMatchSampler, flow_scheduler, flux_mu
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

#: the published models' sampling defaults (diffusers' FluxPipeline and the model cards)
MODELS = {
    "flux-dev": dict(variant="dev", steps=28, guidance_scale=3.5, tokens=512),
    "flux-schnell": dict(variant="schnell", steps=4, guidance_scale=0.0, tokens=256),
}
#: the side, in pixels, of one latent 2×2 patch: VAE factor 8 × 2
MULTIPLE = 16
#: FLUX.1 is trained up to about 2 megapixels
MAX_RESOLUTION = 2048


def _check(s: dict, built=(), *, model: str) -> None:
    if model == "tiny-flux":
        return check_options(s, built)
    check_options(s, built, resolution=dict(multiple=MULTIPLE, top=MAX_RESOLUTION, model=model))


def _world(model, *, steps, prompts, seed, dtype, device, guidance_scale, resolution=None,
           text_encoders="resident", reward_dir=None, **_) -> World:  # fmt: skip
    import torch
    from diffusers import AutoencoderKL, FluxTransformer2DModel

    if model == "tiny-flux":
        with torch.random.fork_rng(devices=[]):  # tiny-flux's random weights: one fixed draw
            torch.manual_seed(0)
            transformer = FluxTransformer2DModel(**m.TINY["transformer"])
            vae = AutoencoderKL(**m.TINY["vae"])
        scheduler = flow_scheduler(m.TINY["scheduler"])
        tokens, side_px = m.TINY["tokens"], 32
        encoders, resident = {}, "transformer, VAE, tiny HPS (conditioning: seeded per prompt)"
    else:
        cost_model_only(model)
        variant = MODELS[model]["variant"]
        transformer = FluxTransformer2DModel(**asset_config(f"flux/transformer-{variant}.json"))
        vae = AutoencoderKL(**asset_config("flux/vae.json"))
        scheduler = flow_scheduler(asset_config(f"flux/scheduler-{variant}.json"))
        tokens, side_px = MODELS[model]["tokens"], resolution
        encoders, names = resident_encoders(("clip-l", "t5-xxl"), text_encoders, dtype, device)
        resident = f"transformer, VAE, {names}, HPSv2 ViT-H-14"
    transformer, vae = frozen(transformer, dtype, device), frozen(vae, dtype, device)
    cfg = transformer.config
    side = side_px // 2 ** (len(vae.config.block_out_channels) - 1)
    channels = cfg.in_channels // 4
    shapes = {"prompt_embeds": (tokens, cfg.joint_attention_dim), "pooled": (cfg.pooled_projection_dim,)}
    guidance = float(guidance_scale) if cfg.guidance_embeds else None
    mu = flux_mu(m.image_seq_len(side), scheduler.config)
    return World(
        model_name=model,
        denoiser=m.FluxDenoiser(transformer, guidance),
        adapted=transformer,
        lora_targets=LORA_TARGETS,
        sampler=FlowMatchSampler(scheduler, steps, mu=mu, flux_sigmas=True),
        decode=vae_decoder(vae),
        latent_shape=lambda b: (b, channels, side, side),
        cond=seeded_embeddings(shapes, prompts, seed, dtype, device),
        uncond=None,  # no classifier-free guidance batch
        guidance_scale=1.0,
        reward_fn=hps_reward(model, prompts, reward_dir, dtype=dtype, device=device),
        modules={"transformer": transformer, "vae": vae, **encoders},
        resident=resident,
    )


def _build(name, target, model, **kw):
    return build_task(name, target, _world(model, **kw), **kw)


def _register_tiny(target):
    @register(
        f"tiny-flux-{target}",
        f"tiny random FLUX (double/single-stream DiT, flow matching; CPU-sized), optimize {target}; "
        "tiny-HPS reward (no meaning)",
        workflow=TINY_REWARD_WORKFLOW,
        check=lambda s, built=(): _check(s, built, model="tiny-flux"),
        steps=20, batch=2, prompts=TINY_PROMPTS, guidance_scale=3.5, reward_dir=None,
        **TINY_TARGETS[target],
    )  # fmt: skip
    def factory(name, **kw):
        return _build(name, target, "tiny-flux", **kw)


def _register_paper(model, target):
    spec = MODELS[model]

    @register(
        f"{model}-{target}-hpsv2",
        f"FLUX.1-{spec['variant']} (cost model: configs, no weights), optimize {target} for HPSv2",
        cost_only=True,
        check=lambda s, built=(): _check(s, built, model=model),
        steps=spec["steps"], batch=1, prompts=PAPER_PROMPTS[:1], guidance_scale=spec["guidance_scale"],
        resolution=1024, text_encoders="resident", **PAPER_TARGETS[target],
    )  # fmt: skip
    def factory(name, **kw):
        return _build(name, target, model, **kw)


for _target in TINY_TARGETS:
    _register_tiny(_target)
    for _model in MODELS:
        _register_paper(_model, _target)
