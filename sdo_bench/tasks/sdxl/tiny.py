"""``tiny-sdxl``: the SDXL pipeline at diffusers-test size, with random weights.

UNet2DConditionModel with SDXL's added text-time conditioning, AutoencoderKL, two CLIP text encoders
(the second with a projection, as OpenCLIP-bigG) and SDXL's scheduler config, built from config with a
fixed seed, saved with ``save_pretrained`` and loaded back through the same loader as real SDXL
(:func:`sdo_bench.tasks.pipelines.load`). The tokenizers are the real CLIP BPE tokenizer, written
offline. It has no semantics: it exercises SDXL's code path on a CPU.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ...weights import asset_config

VERSION = 1  # bump when the architecture or seed below changes (cached copies are rebuilt)

#: the two CLIP encoders' width: prompt embeddings are both side by side (2 × 32 = cross-attention)
WIDTH = 32
UNET = dict(
    sample_size=16, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(2, 4),
    use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=8,
    transformer_layers_per_block=(1, 2), projection_class_embeddings_input_dim=6 * 8 + WIDTH,
    cross_attention_dim=2 * WIDTH,
)  # fmt: skip
VAE = dict(
    in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
    up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16), layers_per_block=1,
    latent_channels=4, norm_num_groups=4, sample_size=32, scaling_factor=0.13025, force_upcast=True,
)  # fmt: skip


def pipeline(seed: int = 0):
    """tiny-sdxl built in code (random weights drawn with ``seed``), float32 on the CPU; a
    ``DDIMScheduler`` on SDXL's config."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionXLPipeline, UNet2DConditionModel

    from ..pipelines import quiet_progress_bars
    from ..text_encoders import tiny_clip, tokenizers

    quiet_progress_bars()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(**UNET)
        vae = AutoencoderKL(**VAE)
        text_encoder = tiny_clip(WIDTH, projection=False)
        text_encoder_2 = tiny_clip(WIDTH, projection=True)
    tok = tokenizers(clip=1)["clip"][0]
    return StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tok, tokenizer_2=tok,
        unet=unet, scheduler=DDIMScheduler(**asset_config("sdxl/scheduler.json")),
    )  # fmt: skip


def ensure(out: str | Path | None = None, seed: int = 0) -> Path:
    """The tiny-sdxl directory ``out`` (default ``$SDO_BENCH_CACHE/tiny-sdxl-v<VERSION>``), saved first
    if it is not there."""
    from ..pipelines import ensure_saved

    return ensure_saved(f"tiny-sdxl-v{VERSION}", pipeline, out, seed)
