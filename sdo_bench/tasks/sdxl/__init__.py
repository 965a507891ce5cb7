"""Stable Diffusion XL: ``sdxl-*`` (paper scale, in the cost model: the base model built from the
configs shipped in ``sdo_bench/assets/sdxl`` and ``assets/text_encoders``, no weights).

Sampling as for SD1.5: DDIM (eta = 0) on SDXL's scheduler config with classifier-free guidance, the VAE
decode in the graph. The UNet's conditioning is the pipeline's: ``prompt_embeds`` (B, 77, 2048) — CLIP-L's
and OpenCLIP-bigG's penultimate hidden states side by side — and ``pooled`` (B, 1280, bigG's projection),
with the fixed micro-conditioning ``time_ids`` (original size, crop (0, 0), target size) that
``StableDiffusionXLPipeline`` adds. Targets and construction are the shared ones
(:mod:`sdo_bench.tasks.latent_world`).
"""

from __future__ import annotations

import torch
from torch import nn

from ...sampling.ddim import DDIMSampler
from ...weights import asset_config
from ..base import frozen
from ..latent_world import (
    LORA_TARGETS,
    PAPER_PROMPTS,
    PAPER_TARGETS,
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

#: the UNet downsamples the 1/8 latent twice more: sides are multiples of 8 · 4 px
MULTIPLE = 32
MAX_RESOLUTION = 2048


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


def world(model: str, unet_config: dict, vae_config: dict, scheduler_config: dict, *, steps, prompts,
          seed, dtype, device, guidance_scale, resolution, text_encoders="resident",
          reward_dir=None, **_) -> World:  # fmt: skip
    """SDXL's world from its component configs (the shipped ones; tests pass tiny ones)."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

    unet = frozen(UNet2DConditionModel(**unet_config), dtype, device)
    vae = frozen(AutoencoderKL(**vae_config), dtype, device)
    encoders, names = resident_encoders(("clip-l", "clip-bigg"), text_encoders, dtype, device)
    if model.startswith("tiny"):
        encoders, names = {}, "no text encoders (conditioning: seeded per prompt)"
    side = resolution // 2 ** (len(vae.config.block_out_channels) - 1)
    # the pooled embedding: what the added-condition projection takes besides the 6 embedded time ids
    pooled = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
    shapes = {"prompt_embeds": (77, unet.config.cross_attention_dim), "pooled": (pooled,)}
    return World(
        model_name=model,
        denoiser=SDXLDenoiser(unet, resolution),
        adapted=unet,
        lora_targets=LORA_TARGETS,
        sampler=DDIMSampler(DDIMScheduler(**scheduler_config), steps),
        decode=vae_decoder(vae),
        latent_shape=lambda b: (b, unet.config.in_channels, side, side),
        cond=seeded_embeddings(shapes, prompts, seed, dtype, device),
        # the pipeline's negative conditioning for the empty prompt is zeros (force_zeros_for_empty_prompt)
        uncond={k: torch.zeros((1, *s), dtype=dtype, device=device) for k, s in shapes.items()},
        guidance_scale=guidance_scale,
        reward_fn=hps_reward(model, prompts, reward_dir, dtype=dtype, device=device),
        modules={"unet": unet, "vae": vae, **encoders},
        resident=f"UNet, VAE, {names}, " + ("tiny HPS" if model.startswith("tiny") else "HPSv2 ViT-H-14"),
    )


def _check(s: dict, built=()) -> None:
    check_options(s, built, resolution=dict(multiple=MULTIPLE, top=MAX_RESOLUTION, model="sdxl"))


def _register(target):
    @register(
        f"sdxl-{target}-hpsv2",
        f"SDXL base 1.0 (cost model: configs, no weights), optimize {target} for HPSv2",
        cost_only=True,
        check=_check,
        steps=50, batch=1, prompts=PAPER_PROMPTS[:1], guidance_scale=5.0, resolution=1024,
        text_encoders="resident", **PAPER_TARGETS[target],
    )  # fmt: skip
    def factory(name, **kw):
        cost_model_only("sdxl")
        configs = [asset_config(f"sdxl/{c}.json") for c in ("unet", "vae", "scheduler")]
        return build_task(name, target, world("sdxl", *configs, **kw), **kw)


for _target in PAPER_TARGETS:
    _register(_target)
