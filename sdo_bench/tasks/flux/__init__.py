"""FLUX.1: ``tiny-flux-*`` (CPU-sized, random weights, a pipeline saved to disk and loaded back,
offline) and ``flux-dev-*`` / ``flux-schnell-*`` (the user's local diffusers directory; under the cost
model, built from the configs shipped in ``sdo_bench/assets/flux`` and ``assets/text_encoders``).

Sampling is the pipeline's: flow-matching Euler on ``σ = linspace(1, 1/N, N)`` with the directory's
scheduler and FLUX.1-dev's resolution-dependent shift (``mu`` from the image's token count) — schnell:
no shift — (:class:`~sdo_bench.sampling.flow.FlowMatchSampler`); FLUX.1-dev's guidance is distilled into
the model (an input, no doubled batch) and schnell takes none; the VAE decode is in the graph
(:mod:`.model`). The conditioning is the pipeline's ``encode_prompt`` (T5-XXL's tokens — dev 512,
schnell 256, tiny 8 — and CLIP-L's pooled output). Targets and construction are the shared ones
(:mod:`sdo_bench.tasks.latent_world`).
"""

from __future__ import annotations

from ...sampling.flow import FlowMatchSampler, flow_scheduler, flux_mu
from ...weights import asset_config, skipped
from ..base import frozen
from ..latent_world import (
    HPS,
    LORA_TARGETS,
    PAPER_PROMPTS,
    PAPER_TARGETS,
    TINY_PROMPTS,
    TINY_REWARD_WORKFLOW,
    TINY_TARGETS,
    World,
    build_task,
    check_options,
    encoded,
    hps_reward,
    open_pipeline,
    seeded_embeddings,
    vae_decoder,
)
from ..registry import register
from ..text_encoders import resident_encoders
from . import model as m
from . import tiny

#: the published models' sampling defaults (diffusers' FluxPipeline and the model cards)
MODELS = {
    "flux-dev": dict(variant="dev", steps=28, guidance_scale=3.5, tokens=512),
    "flux-schnell": dict(variant="schnell", steps=4, guidance_scale=0.0, tokens=256),
}
#: the side, in pixels, of one latent 2×2 patch: VAE factor 8 × 2
MULTIPLE = 16
#: FLUX.1 is trained up to about 2 megapixels
MAX_RESOLUTION = 2048
#: what a local FLUX.1 directory holds (``FluxPipeline.save_pretrained``'s layout)
FILES = ("model_index.json", "transformer", "vae", "text_encoder", "text_encoder_2", "tokenizer",
         "tokenizer_2", "scheduler")  # fmt: skip
WHERE = (
    "download {repo} in diffusers format once (FLUX.1-dev is gated: accept its license on Hugging Face "
    "first), e.g. `huggingface-cli download {repo} --local-dir PATH` (the directory with "
    "model_index.json), and point the option at PATH"
)
REPOS = {"flux-dev": "black-forest-labs/FLUX.1-dev", "flux-schnell": "black-forest-labs/FLUX.1-schnell"}
ENCODER_LABELS = "CLIP-L, T5-XXL"


def _check(s: dict, built=(), *, model: str) -> None:
    if model == "tiny-flux":
        return check_options(s, built, paths=dict(files=FILES))
    paths = dict(key="flux_path", files=FILES, where=WHERE.format(repo=REPOS[model]))
    check_options(s, built, resolution=dict(multiple=MULTIPLE, top=MAX_RESOLUTION, model=model), paths=paths)


def encode(tokens: int):
    """FLUX's conditioning for the prompts, as the pipeline's ``encode_prompt`` makes it with ``tokens``
    T5 tokens; no null conditioning (no guidance batch)."""

    def run(pipe, prompts):
        c, pooled, _ = pipe.encode_prompt(prompts, None, device=pipe.device, max_sequence_length=tokens)
        return {"prompt_embeds": c, "pooled": pooled}, None

    return run


def _parts(model, s):
    """(transformer, vae, scheduler, cond, encoders, words, pixel side): from the configs under the
    cost model at paper scale, else from the pipeline (tiny: built in code under the cost model, else
    loaded)."""
    from diffusers import AutoencoderKL, FluxTransformer2DModel

    dtype, device, prompts = s["dtype"], s["device"], s["prompts"]
    tokens = m.TINY["tokens"] if model == "tiny-flux" else MODELS[model]["tokens"]
    side_px = 32 if model == "tiny-flux" else s["resolution"]
    if model != "tiny-flux" and skipped():
        variant = MODELS[model]["variant"]
        transformer = frozen(
            FluxTransformer2DModel(**asset_config(f"flux/transformer-{variant}.json")), dtype, device
        )
        vae = frozen(AutoencoderKL(**asset_config("flux/vae.json")), dtype, device)
        scheduler = flow_scheduler(asset_config(f"flux/scheduler-{variant}.json"))
        encoders, words = resident_encoders(("clip-l", "t5-xxl"), s["text_encoders"], dtype, device)
        cfg = transformer.config
        shapes = {"prompt_embeds": (tokens, cfg.joint_attention_dim), "pooled": (cfg.pooled_projection_dim,)}
        cond = seeded_embeddings(shapes, prompts, s["seed"], dtype, device)
        return transformer, vae, scheduler, cond, encoders, words, side_px
    pipe = open_pipeline("FluxPipeline", tiny if model == "tiny-flux" else None, s, key="flux_path",
                         files=FILES, where=WHERE.format(repo=REPOS.get(model, "")))  # fmt: skip
    cond, _, encoders, words = encoded(pipe, encode(tokens), prompts, s["text_encoders"], ENCODER_LABELS)
    return pipe.transformer, pipe.vae, pipe.scheduler, cond, encoders, words, side_px


def _world(model, **s) -> World:
    dtype, device = s["dtype"], s["device"]
    transformer, vae, scheduler, cond, encoders, words, side_px = _parts(model, s)
    cfg = transformer.config
    side = side_px // 2 ** (len(vae.config.block_out_channels) - 1)
    channels = cfg.in_channels // 4
    guidance = float(s["guidance_scale"]) if cfg.guidance_embeds else None
    mu = flux_mu(m.image_seq_len(side), scheduler.config)
    reward = "tiny HPS" if model == "tiny-flux" else "HPSv2 ViT-H-14"
    return World(
        model_name=model,
        denoiser=m.FluxDenoiser(transformer, guidance),
        adapted=transformer,
        lora_targets=LORA_TARGETS,
        sampler=FlowMatchSampler(scheduler, s["steps"], mu=mu, flux_sigmas=True),
        decode=vae_decoder(vae),
        latent_shape=lambda b: (b, channels, side, side),
        cond=cond,
        uncond=None,  # no classifier-free guidance batch
        guidance_scale=1.0,
        reward_fn=hps_reward(model, s, dtype=dtype, device=device),
        modules={"transformer": transformer, "vae": vae, **encoders},
        resident=f"transformer, VAE, {words}, {reward}",
    )


def _build(name, target, model, **kw):
    return build_task(name, target, _world(model, **kw), **kw)


def _register_tiny(target):
    @register(
        f"tiny-flux-{target}",
        f"tiny random FLUX (double/single-stream DiT, flow matching, CLIP-L and T5; CPU-sized), optimize "
        f"{target}; tiny-HPS reward (no meaning)",
        workflow=TINY_REWARD_WORKFLOW,
        check=lambda s, built=(): _check(s, built, model="tiny-flux"),
        steps=20, batch=2, prompts=TINY_PROMPTS, guidance_scale=3.5, weights_dir=None, reward_dir=None,
        text_encoders="resident", **TINY_TARGETS[target],
    )  # fmt: skip
    def factory(name, **kw):
        return _build(name, target, "tiny-flux", **kw)


def _register_paper(model, target):
    spec = MODELS[model]

    @register(
        f"{model}-{target}-hpsv2",
        f"FLUX.1-{spec['variant']} (local weights: flux_path), optimize {target} for HPSv2",
        check=lambda s, built=(): _check(s, built, model=model),
        steps=spec["steps"], batch=1, prompts=PAPER_PROMPTS[:1], guidance_scale=spec["guidance_scale"],
        resolution=1024, text_encoders="resident", flux_path=None, **HPS, **PAPER_TARGETS[target],
    )  # fmt: skip
    def factory(name, **kw):
        return _build(name, target, model, **kw)


for _target in TINY_TARGETS:
    _register_tiny(_target)
    for _model in MODELS:
        _register_paper(_model, _target)
