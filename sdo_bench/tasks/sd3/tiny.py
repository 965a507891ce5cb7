"""``tiny-sd3``: the SD3 pipeline at CPU size, with random weights.

The MMDiT of :data:`.model.TINY` (dual attention, qk-norm), its VAE, SD3's three text encoders (two CLIP
with projections, one T5) and the flow-matching scheduler, built from config with a fixed seed, saved
with ``save_pretrained`` and loaded back through the same loader as real SD3.5
(:func:`sdo_bench.tasks.pipelines.load`). Tokenizers: the real CLIP BPE tokenizer and a tiny T5 one,
written offline. No semantics: it exercises SD3's code path on a CPU.
"""

from __future__ import annotations

from pathlib import Path

import torch

from . import model as m

VERSION = 1  # bump when the architecture or seed below changes (cached copies are rebuilt)


def pipeline(seed: int = 0):
    """tiny-sd3 built in code (random weights drawn with ``seed``), float32 on the CPU."""
    from diffusers import AutoencoderKL, SD3Transformer2DModel, StableDiffusion3Pipeline

    from ...sampling.flow import flow_scheduler
    from ..pipelines import quiet_progress_bars
    from ..text_encoders import tiny_clip, tiny_t5, tokenizers

    quiet_progress_bars()
    config = m.TINY["transformer"]
    # the two CLIP widths side by side fill T5's width (the pipeline pads to it) and the pooled input
    clip_width = config["pooled_projection_dim"] // 2
    toks = tokenizers(clip=1, t5=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        transformer = SD3Transformer2DModel(**config)
        vae = AutoencoderKL(**m.TINY["vae"])
        encoders = [tiny_clip(clip_width, projection=True) for _ in range(2)]
        t5 = tiny_t5(config["joint_attention_dim"], len(toks["t5"]))
    return StableDiffusion3Pipeline(
        transformer=transformer, scheduler=flow_scheduler(m.TINY["scheduler"]), vae=vae,
        text_encoder=encoders[0], tokenizer=toks["clip"][0], text_encoder_2=encoders[1],
        tokenizer_2=toks["clip"][0], text_encoder_3=t5, tokenizer_3=toks["t5"],
    )  # fmt: skip


def ensure(out: str | Path | None = None, seed: int = 0) -> Path:
    """The tiny-sd3 directory ``out`` (default ``$SDO_BENCH_CACHE/tiny-sd3-v<VERSION>``), saved first
    if it is not there."""
    from ..pipelines import ensure_saved

    return ensure_saved(f"tiny-sd3-v{VERSION}", pipeline, out, seed)
