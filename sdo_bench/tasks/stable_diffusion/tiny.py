"""``tiny-sd``: the Stable Diffusion architecture at diffusers-test size, with random weights.

UNet2DConditionModel + AutoencoderKL + CLIPTextModel + CLIPTokenizer + SD1.5's own DDIM scheduler
config, built from config with a fixed seed, saved with ``save_pretrained`` and loaded back through the
same loader as real Stable Diffusion (:func:`sdo_bench.tasks.stable_diffusion.pipeline.load_pipeline`). It
exercises the SD code path (latent space, VAE decode, text conditioning, classifier-free guidance) for
timing and memory scaling; it has no semantics.

The tokenizer is the real CLIP BPE tokenizer (the one SD1.5 ships), written offline from the BPE
vocabulary that ``open_clip`` bundles, so prompts tokenize exactly as they do for SD1.5.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ...weights import ASSETS, cache_dir, ensure_built

VERSION = 1  # bump when the architecture or seed below changes (cached copies are rebuilt)

#: SD1.5's scheduler config (scheduler/scheduler_config.json of stable-diffusion-v1-5), as DDIM
SD15_SCHEDULER = {
    k: v
    for k, v in json.loads((ASSETS / "sd15" / "scheduler.json").read_text()).items()
    if not k.startswith("_")
}

UNET = dict(
    sample_size=32,
    in_channels=4,
    out_channels=4,
    layers_per_block=2,
    block_out_channels=(32, 64),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    cross_attention_dim=32,
)
VAE = dict(
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    block_out_channels=(32, 64),
    down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
    up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
)
TEXT = dict(
    hidden_size=32,
    intermediate_size=37,
    num_attention_heads=4,
    num_hidden_layers=5,
    layer_norm_eps=1e-5,
    vocab_size=49408,
    bos_token_id=49406,
    eos_token_id=49407,
    pad_token_id=49407,
    max_position_embeddings=77,
)


def default_dir() -> Path:
    """Where ``tiny-sd`` is built when no directory is given: ``$SDO_BENCH_CACHE`` or
    ``~/.cache/sdo-bench``."""
    return cache_dir(f"tiny-sd-v{VERSION}")


#: the architecture of each component, as ``pipeline_from_configs`` takes them
CONFIGS = {"unet": UNET, "vae": VAE, "text_encoder": TEXT, "scheduler": SD15_SCHEDULER}


def build(out: str | Path, seed: int = 0) -> Path:
    """Build tiny-sd with random weights (seeded) and save it as a diffusers pipeline directory."""
    from .pipeline import pipeline_from_configs

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        pipe = pipeline_from_configs(CONFIGS)
    pipe.save_pretrained(Path(out), safe_serialization=True)
    return Path(out)


def ensure(out: str | Path | None = None, seed: int = 0) -> Path:
    """The tiny-sd directory ``out`` (default :func:`default_dir`), built first if it is not there."""
    return ensure_built(
        Path(out) if out else default_dir(), "model_index.json", lambda tmp: build(tmp, seed=seed)
    )
