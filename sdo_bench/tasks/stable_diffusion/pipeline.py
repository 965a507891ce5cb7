"""Stable Diffusion (SD1.5, or tiny-sd) as a denoiser, a prompt encoder and a differentiable VAE decode.

Everything comes from a diffusers ``StableDiffusionPipeline`` loaded with ``from_pretrained`` from a
local directory (or a hub id that is already in the local cache: ``local_files_only=True``, nothing
downloads). The pipeline's scheduler is replaced by a ``DDIMScheduler`` built from the pipeline's own
scheduler config, so ``task.pipeline(...)`` and the suite's sampler take the same steps.

What the suite differentiates through, per sampling step (the pipeline's own loop, written out):
``ε = ε_u + w (ε_c − ε_u)`` with ``(ε_u, ε_c) = unet(cat[x, x], t, cat[c_∅, c])``; after the last step
``image = clamp(vae.decode(x / scaling_factor) / 2 + 1/2, 0, 1)`` — the VAE decode is inside the graph.
"""

from __future__ import annotations

import torch
from torch import nn

from ...weights import asset_config
from .. import pipelines
from ..latent_world import LORA_TARGETS, vae_decoder  # noqa: F401  (LORA_TARGETS: the family's)

PIPELINE_FILES = ("model_index.json", "unet", "vae", "text_encoder", "tokenizer", "scheduler")
WHERE_SD15 = (
    "download Stable Diffusion 1.5 in diffusers format once, e.g. `huggingface-cli download "
    "stable-diffusion-v1-5/stable-diffusion-v1-5 --local-dir PATH` (the directory with "
    "model_index.json), and point the option at PATH"
)


def load_pipeline(
    path,
    *,
    key: str = "weights_dir",
    dtype: torch.dtype = torch.float32,
    device="cpu",
    where: str = WHERE_SD15,
):
    """A ``StableDiffusionPipeline`` from a local diffusers directory (:func:`..pipelines.load`), with a
    ``DDIMScheduler`` built from its own scheduler config."""
    return pipelines.load(
        "StableDiffusionPipeline", path, key=key, files=PIPELINE_FILES, where=where, dtype=dtype,
        device=device, scheduler="DDIMScheduler",
    )  # fmt: skip


def sd15_configs() -> dict:
    """SD1.5's component configs, shipped in ``sdo_bench/assets/sd15`` (no weights needed)."""
    return {name: asset_config(f"sd15/{name}.json") for name in ("unet", "vae", "text_encoder", "scheduler")}


def pipeline_from_configs(configs: dict, *, dtype: torch.dtype = torch.float32, device="cpu"):
    """A ``StableDiffusionPipeline`` built from component configs (``unet``, ``vae``, ``text_encoder``,
    ``scheduler``) with freshly initialised weights and SD1.5's CLIP tokenizer (written offline): the
    architecture of tiny-sd, or of SD1.5 for the cost model (``weights.configs_only``)."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from ..text_encoders import tokenizers

    pipelines.quiet_progress_bars()
    unet = UNet2DConditionModel(**configs["unet"])  # this order: tiny-sd's seeded weights depend on it
    vae = AutoencoderKL(**configs["vae"])
    text_encoder = CLIPTextModel(CLIPTextConfig(**configs["text_encoder"]))
    tokenizer = tokenizers(clip=1)["clip"][0]
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=DDIMScheduler(**configs["scheduler"]),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    return pipelines.freeze(pipe, dtype, device)


class SDDenoiser(nn.Module):
    """ε(x, t, c) of the pipeline's UNet, with ``c`` the prompt embeddings (B, 77, D)."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, x, t, cond):
        return self.unet(x, t, encoder_hidden_states=cond, return_dict=False)[0]


@torch.no_grad()
def encode_prompts(pipe, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(prompt embeddings, negative = empty-prompt embeddings), each (len(prompts), 77, D), as the
    pipeline makes them."""
    cond, uncond = pipe.encode_prompt(list(prompts), pipe.device, 1, True, negative_prompt=None)
    return cond, uncond


def decoder(pipe):
    """latents -> images in [0, 1] (B, 3, H, W), differentiable (the pipeline's decode + postprocess)."""
    return vae_decoder(pipe.vae)


def latent_shape(pipe, batch: int) -> tuple[int, int, int, int]:
    size = pipe.unet.config.sample_size
    return (batch, pipe.unet.config.in_channels, size, size)
