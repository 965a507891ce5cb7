"""Stable Diffusion 3.5: ``tiny-sd3-*`` (CPU-sized, random weights, a pipeline saved to disk and loaded
back, offline) and ``sd35-medium-*`` / ``sd35-large-*`` (the user's local diffusers directory; under the
cost model, built from the configs shipped in ``sdo_bench/assets/sd35`` and ``assets/text_encoders``).

Sampling is the pipeline's: flow-matching Euler (:class:`~sdo_bench.sampling.flow.FlowMatchSampler`) on
the directory's own scheduler (shift 3.0; ``shift`` overrides it) with classifier-free guidance against
the empty prompt, the VAE decode in the graph (:mod:`.model`). The conditioning is the pipeline's
``encode_prompt`` (CLIP-L, OpenCLIP-bigG and T5-XXL; ``max_sequence_length`` 256 T5 tokens, tiny: 8).
Targets and the task's construction are the shared ones (:mod:`sdo_bench.tasks.latent_world`). The tiny
tasks' reward is HPS's code path on the tiny open_clip (no meaning), as for ``tiny-sd``.
"""

from __future__ import annotations

from ...sampling.flow import FlowMatchSampler, flow_scheduler
from ...spec import settings as S
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

#: the published models' sampling defaults (model cards): steps, guidance, resolution
MODELS = {
    "sd35-medium": dict(label="SD3.5 Medium", config="transformer-medium.json", steps=40, guidance_scale=4.5),
    "sd35-large": dict(label="SD3.5 Large", config="transformer-large.json", steps=28, guidance_scale=3.5),
}
#: what a local SD3.5 directory holds (``StableDiffusion3Pipeline.save_pretrained``'s layout)
FILES = ("model_index.json", "transformer", "vae", "text_encoder", "text_encoder_2", "text_encoder_3",
         "tokenizer", "tokenizer_2", "tokenizer_3", "scheduler")  # fmt: skip
WHERE = (
    "download {repo} in diffusers format once (a gated model: accept its license on Hugging Face first), "
    "e.g. `huggingface-cli download {repo} --local-dir PATH` (the directory with model_index.json), and "
    "point the option at PATH"
)
REPOS = {"sd35-medium": "stabilityai/stable-diffusion-3.5-medium",
         "sd35-large": "stabilityai/stable-diffusion-3.5-large"}  # fmt: skip
ENCODER_LABELS = "CLIP-L, OpenCLIP-bigG, T5-XXL"


def max_resolution(transformer_config: dict, vae_factor: int) -> int:
    """The largest side the MMDiT's positional embedding covers (pos_embed_max_size patches)."""
    return transformer_config["pos_embed_max_size"] * transformer_config["patch_size"] * vae_factor


def _check(s: dict, built=(), *, model: str) -> None:
    S.number("shift", s["shift"], positive=True)
    if model == "tiny-sd3":
        return check_options(s, built, paths=dict(files=FILES))
    config = asset_config(f"sd35/{MODELS[model]['config']}")
    top = max_resolution(config, 8)
    paths = dict(key="sd35_path", files=FILES, where=WHERE.format(repo=REPOS[model]))
    resolution = dict(multiple=8 * config["patch_size"], top=top, model=model)
    check_options(s, built, resolution=resolution, paths=paths)


def encode(tokens: int):
    """SD3's conditioning for the prompts and the null one (one row), as the pipeline's
    ``encode_prompt`` makes them with ``tokens`` T5 tokens."""

    def run(pipe, prompts):
        c, u, pc, pu = pipe.encode_prompt(
            prompts, None, None, device=pipe.device, do_classifier_free_guidance=True,
            max_sequence_length=tokens,
        )  # fmt: skip
        return {"prompt_embeds": c, "pooled": pc}, {"prompt_embeds": u[:1], "pooled": pu[:1]}

    return run


def _parts(model, s):
    """(transformer, vae, scheduler, cond, uncond, encoders, words): from the configs under the cost
    model at paper scale, else from the pipeline (tiny: built in code under the cost model, else
    loaded)."""
    from diffusers import AutoencoderKL, SD3Transformer2DModel

    dtype, device, prompts = s["dtype"], s["device"], s["prompts"]
    tokens = m.TINY["tokens"] if model == "tiny-sd3" else m.T5_TOKENS
    if model != "tiny-sd3" and skipped():
        config = asset_config(f"sd35/{MODELS[model]['config']}")
        transformer = frozen(SD3Transformer2DModel(**config), dtype, device)
        vae = frozen(AutoencoderKL(**asset_config("sd35/vae.json")), dtype, device)
        scheduler = flow_scheduler(asset_config("sd35/scheduler.json"))
        encoders, words = resident_encoders(
            ("clip-l", "clip-bigg", "t5-xxl"), s["text_encoders"], dtype, device
        )
        shapes = {
            "prompt_embeds": (m.CLIP_TOKENS + tokens, config["joint_attention_dim"]),
            "pooled": (config["pooled_projection_dim"],),
        }
        cond = seeded_embeddings(shapes, prompts, s["seed"], dtype, device)
        uncond = seeded_embeddings(shapes, [""], s["seed"] + 1, dtype, device)
        return transformer, vae, scheduler, cond, uncond, encoders, words
    pipe = open_pipeline("StableDiffusion3Pipeline", tiny if model == "tiny-sd3" else None, s,
                         key="sd35_path", files=FILES,
                         where=WHERE.format(repo=REPOS.get(model, "")))  # fmt: skip
    cond, uncond, encoders, words = encoded(pipe, encode(tokens), prompts, s["text_encoders"], ENCODER_LABELS)
    return pipe.transformer, pipe.vae, pipe.scheduler, cond, uncond, encoders, words


def _world(model, **s) -> World:
    dtype, device = s["dtype"], s["device"]
    transformer, vae, scheduler, cond, uncond, encoders, words = _parts(model, s)
    scheduler = flow_scheduler(scheduler.config, shift=s["shift"])
    factor = m.vae_scale(vae)
    side = (s.get("resolution") or transformer.config.sample_size * factor) // factor
    channels = transformer.config.in_channels
    reward = "tiny HPS" if model == "tiny-sd3" else "HPSv2 ViT-H-14"
    return World(
        model_name=model,
        denoiser=m.SD3Denoiser(transformer),
        adapted=transformer,
        lora_targets=LORA_TARGETS,
        sampler=FlowMatchSampler(scheduler, s["steps"]),
        decode=vae_decoder(vae),
        latent_shape=lambda b: (b, channels, side, side),
        cond=cond,
        uncond=uncond,
        guidance_scale=s["guidance_scale"],
        reward_fn=hps_reward(model, s, dtype=dtype, device=device),
        modules={"transformer": transformer, "vae": vae, **encoders},
        resident=f"transformer, VAE, {words}, {reward}",
    )


def _build(name, target, model, **kw):
    return build_task(name, target, _world(model, **kw), **kw)


TINY = dict(steps=20, batch=2, prompts=TINY_PROMPTS, guidance_scale=7.0, shift=3.0, weights_dir=None,
            reward_dir=None, text_encoders="resident")  # fmt: skip


def _register_tiny(target):
    @register(
        f"tiny-sd3-{target}",
        f"tiny random SD3 (MMDiT, flow matching, three text encoders; CPU-sized), optimize {target}; "
        "tiny-HPS reward (no meaning)",
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
        f"{spec['label']} (local weights: sd35_path), optimize {target} for HPSv2",
        check=lambda s, built=(): _check(s, built, model=model),
        steps=spec["steps"],
        batch=1,
        prompts=PAPER_PROMPTS[:1],
        guidance_scale=spec["guidance_scale"],
        resolution=1024,
        shift=3.0,
        text_encoders="resident",
        sd35_path=None,
        **HPS,
        **PAPER_TARGETS[target],
    )
    def factory(name, **kw):
        return _build(name, target, model, **kw)


for _target in TINY_TARGETS:
    _register_tiny(_target)
    for _model in MODELS:
        _register_paper(_model, _target)
