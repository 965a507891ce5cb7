"""Stable Diffusion XL: ``tiny-sdxl-*`` (CPU-sized, random weights, a pipeline saved to disk and loaded
back, offline) and ``sdxl-*`` (SDXL base 1.0 from the user's local diffusers directory; under the cost
model, built from the configs shipped in ``sdo_bench/assets/sdxl`` and ``assets/text_encoders``).

Sampling as for SD1.5: DDIM (eta = 0) built from the pipeline's own scheduler config, classifier-free
guidance against the empty prompt (zeros: ``force_zeros_for_empty_prompt``), the VAE decode in the graph
(in float32 where the pipeline upcasts it: float16 with ``force_upcast``). The UNet's conditioning is
the pipeline's ``encode_prompt``: ``prompt_embeds`` (B, 77, 2048) — CLIP-L's and OpenCLIP-bigG's
penultimate hidden states side by side — and ``pooled`` (B, 1280, bigG's projection), with the fixed
micro-conditioning ``time_ids`` (original size, crop (0, 0), target size) the pipeline adds. Targets
and construction are the shared ones (:mod:`sdo_bench.tasks.latent_world`).
"""

from __future__ import annotations

import torch
from torch import nn

from ...sampling.ddim import DDIMSampler
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
from . import tiny

#: the UNet downsamples the 1/8 latent twice more: sides are multiples of 8 · 4 px
MULTIPLE = 32
MAX_RESOLUTION = 2048

#: what a local SDXL directory holds (``StableDiffusionXLPipeline.save_pretrained``'s layout)
FILES = ("model_index.json", "unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2",
         "scheduler")  # fmt: skip
WHERE = (
    "download SDXL base 1.0 in diffusers format once, e.g. `huggingface-cli download "
    "stabilityai/stable-diffusion-xl-base-1.0 --local-dir PATH` (the directory with model_index.json), "
    "and point the option at PATH"
)
ENCODER_LABELS = "CLIP-L, OpenCLIP-bigG"


class SDXLDenoiser(nn.Module):
    """``ε(x, t, c)`` of SDXL's UNet, ``c = {"prompt_embeds", "pooled"}``, with the fixed ``time_ids``."""

    def __init__(self, unet, resolution: int):
        super().__init__()
        self.unet = unet
        self.time_ids = (resolution, resolution, 0, 0, resolution, resolution)

    def forward(self, x, t, cond):
        pooled = cond["pooled"]
        time_ids = torch.tensor(self.time_ids, dtype=pooled.dtype, device=x.device).expand(x.shape[0], -1)
        added = {"text_embeds": pooled, "time_ids": time_ids}
        return self.unet(
            x, t, encoder_hidden_states=cond["prompt_embeds"], added_cond_kwargs=added, return_dict=False
        )[0]


def encode(pipe, prompts):
    """SDXL's conditioning for ``prompts`` and the null one (one row), as the pipeline makes them."""
    c, u, pc, pu = pipe.encode_prompt(list(prompts), device=pipe.device, do_classifier_free_guidance=True)
    return {"prompt_embeds": c, "pooled": pc}, {"prompt_embeds": u[:1], "pooled": pu[:1]}


def _parts(model, s):
    """(unet, vae, scheduler, cond, uncond, encoders, words): from the configs under the cost model at
    paper scale, else from a pipeline (tiny: built in code under the cost model, else loaded)."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

    dtype, device, prompts = s["dtype"], s["device"], s["prompts"]
    if model == "sdxl" and skipped():
        unet = frozen(UNet2DConditionModel(**asset_config("sdxl/unet.json")), dtype, device)
        vae = frozen(AutoencoderKL(**asset_config("sdxl/vae.json")), dtype, device)
        scheduler = DDIMScheduler(**asset_config("sdxl/scheduler.json"))
        encoders, words = resident_encoders(("clip-l", "clip-bigg"), s["text_encoders"], dtype, device)
        # the pooled embedding: what the added-condition projection takes besides the 6 time ids
        pooled = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
        shapes = {"prompt_embeds": (77, unet.config.cross_attention_dim), "pooled": (pooled,)}
        cond = seeded_embeddings(shapes, prompts, s["seed"], dtype, device)
        # the pipeline's negative conditioning for the empty prompt is zeros (force_zeros_for_empty_prompt)
        uncond = {k: torch.zeros((1, *v), dtype=dtype, device=device) for k, v in shapes.items()}
        return unet, vae, scheduler, cond, uncond, encoders, words
    pipe = open_pipeline("StableDiffusionXLPipeline", tiny if model == "tiny-sdxl" else None, s,
                         key="sdxl_path", files=FILES, where=WHERE, scheduler="DDIMScheduler")  # fmt: skip
    cond, uncond, encoders, words = encoded(pipe, encode, prompts, s["text_encoders"], ENCODER_LABELS)
    return pipe.unet, pipe.vae, pipe.scheduler, cond, uncond, encoders, words


def world(model: str, **s) -> World:
    """SDXL's world: ``model`` "sdxl" (paper scale) or "tiny-sdxl"; ``s`` the task's settings."""
    dtype, device = s["dtype"], s["device"]
    unet, vae, scheduler, cond, uncond, encoders, words = _parts(model, s)
    upcast = dtype == torch.float16 and bool(vae.config.get("force_upcast", False))
    factor = 2 ** (len(vae.config.block_out_channels) - 1)
    resolution = s.get("resolution") or unet.config.sample_size * factor
    side = resolution // factor
    reward = "tiny HPS" if model.startswith("tiny") else "HPSv2 ViT-H-14"
    return World(
        model_name=model,
        denoiser=SDXLDenoiser(unet, resolution),
        adapted=unet,
        lora_targets=LORA_TARGETS,
        sampler=DDIMSampler(scheduler, s["steps"]),
        decode=vae_decoder(vae, upcast=upcast),
        latent_shape=lambda b: (b, unet.config.in_channels, side, side),
        cond=cond,
        uncond=uncond,
        guidance_scale=s["guidance_scale"],
        reward_fn=hps_reward(model, s, dtype=dtype, device=device),
        modules={"unet": unet, "vae": vae, **encoders},
        resident=f"UNet, VAE{' (float32)' if upcast else ''}, {words}, {reward}",
    )


def _check(s: dict, built=(), *, model: str) -> None:
    if model == "tiny-sdxl":
        return check_options(s, built, paths=dict(files=FILES))
    paths = dict(key="sdxl_path", files=FILES, where=WHERE)
    check_options(s, built, resolution=dict(multiple=MULTIPLE, top=MAX_RESOLUTION, model="sdxl"), paths=paths)


def _register(target):
    @register(
        f"tiny-sdxl-{target}",
        f"tiny random SDXL (UNet with text-time conditioning, two CLIP encoders; CPU-sized), optimize "
        f"{target}; tiny-HPS reward (no meaning)",
        workflow=TINY_REWARD_WORKFLOW,
        check=lambda s, built=(): _check(s, built, model="tiny-sdxl"),
        steps=20, batch=2, prompts=TINY_PROMPTS, guidance_scale=5.0, weights_dir=None, reward_dir=None,
        text_encoders="resident", **TINY_TARGETS[target],
    )  # fmt: skip
    def tiny_factory(name, **kw):
        return build_task(name, target, world("tiny-sdxl", **kw), **kw)

    @register(
        f"sdxl-{target}-hpsv2",
        f"SDXL base 1.0 (local weights: sdxl_path), optimize {target} for HPSv2",
        check=lambda s, built=(): _check(s, built, model="sdxl"),
        steps=50, batch=1, prompts=PAPER_PROMPTS[:1], guidance_scale=5.0, resolution=1024,
        text_encoders="resident", sdxl_path=None, **HPS, **PAPER_TARGETS[target],
    )  # fmt: skip
    def factory(name, **kw):
        return build_task(name, target, world("sdxl", **kw), **kw)


for _target in PAPER_TARGETS:
    _register(_target)
