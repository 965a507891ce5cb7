"""``tiny-sd``: the Stable Diffusion architecture at diffusers-test size, with random weights.

UNet2DConditionModel + AutoencoderKL + CLIPTextModel + CLIPTokenizer + SD1.5's own DDIM scheduler
config, built from config with a fixed seed, saved with ``save_pretrained`` and loaded back through the
same loader as real Stable Diffusion (:func:`sdo_bench.models.stable_diffusion.load_pipeline`). It
exercises the SD code path (latent space, VAE decode, text conditioning, classifier-free guidance) for
timing and memory scaling; it has no semantics.

The tokenizer is the real CLIP BPE tokenizer (the one SD1.5 ships), written offline from the BPE
vocabulary that ``open_clip`` bundles, so prompts tokenize exactly as they do for SD1.5.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import torch

from ..weights import cache_dir, ensure_built

VERSION = 1  # bump when the architecture or seed below changes (cached copies are rebuilt)

#: SD1.5's scheduler config (scheduler/scheduler_config.json of stable-diffusion-v1-5), as DDIM
SD15_SCHEDULER = dict(
    num_train_timesteps=1000,
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    clip_sample=False,
    set_alpha_to_one=False,
    steps_offset=1,
    prediction_type="epsilon",
    timestep_spacing="leading",
)

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


def write_clip_tokenizer(out: str | Path) -> Path:
    """Write SD1.5's CLIP tokenizer (vocab.json + merges.txt) from open_clip's bundled BPE file, offline."""
    from open_clip.tokenizer import bytes_to_unicode, default_bpe
    from transformers import CLIPTokenizer

    merges = gzip.open(default_bpe()).read().decode("utf-8").split("\n")
    merges = merges[1 : 49152 - 256 - 2 + 1]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m.split()) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
        tok = CLIPTokenizer(
            str(Path(tmp) / "vocab.json"),
            str(Path(tmp) / "merges.txt"),
            pad_token="<|endoftext|>",
            model_max_length=77,
        )
        tok.save_pretrained(out)
    return out


def build(out: str | Path, seed: int = 0) -> Path:
    """Build tiny-sd with random weights (seeded) and save it as a diffusers pipeline directory."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from .stable_diffusion import quiet_progress_bars

    quiet_progress_bars()
    out = Path(out)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(**UNET)
        vae = AutoencoderKL(**VAE)
        text_encoder = CLIPTextModel(CLIPTextConfig(**TEXT))
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = CLIPTokenizer.from_pretrained(write_clip_tokenizer(Path(tmp) / "tokenizer"))
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=DDIMScheduler(**SD15_SCHEDULER),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(out, safe_serialization=True)
    return out


def ensure(out: str | Path | None = None, seed: int = 0) -> Path:
    """The tiny-sd directory ``out`` (default :func:`default_dir`), built first if it is not there."""
    return ensure_built(
        Path(out) if out else default_dir(), "model_index.json", lambda tmp: build(tmp, seed=seed)
    )


def build_all(out: Path, seed: int = 0) -> str:
    """``sdo-bench build-tiny``: tiny-sd and the tiny open_clip checkpoints under ``out``."""
    from ..rewards import tiny_clip

    sd_dir = ensure(Path(out) / "tiny-sd", seed=seed)
    clip_dir = tiny_clip.ensure(Path(out) / "tiny-clip", seed=seed)
    return (
        f"tiny-sd in {sd_dir} (--set weights_dir={sd_dir}); "
        f"tiny open_clip in {clip_dir} (--set reward_dir={clip_dir})"
    )
