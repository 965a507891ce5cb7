"""``tiny-flux``: the FLUX.1 pipeline at CPU size, with random weights.

The double- and single-stream transformer of :data:`.model.TINY` (rotary positions, guidance
embedding), its VAE, CLIP-L and T5 text encoders and the flow-matching scheduler with the resolution
shift, built from config with a fixed seed, saved with ``save_pretrained`` and loaded back through the
same loader as real FLUX.1 (:func:`sdo_bench.tasks.pipelines.load`). Tokenizers: the real CLIP BPE
tokenizer and a tiny T5 one, written offline. No semantics: it exercises FLUX's code path on a CPU.
"""

from __future__ import annotations

from pathlib import Path

import torch

from . import model as m

VERSION = 1  # bump when the architecture or seed below changes (cached copies are rebuilt)


def pipeline(seed: int = 0):
    """tiny-flux built in code (random weights drawn with ``seed``), float32 on the CPU."""
    from diffusers import AutoencoderKL, FluxPipeline, FluxTransformer2DModel

    from ...sampling.flow import flow_scheduler
    from ..pipelines import quiet_progress_bars
    from ..text_encoders import tiny_clip, tiny_t5, tokenizers

    quiet_progress_bars()
    config = m.TINY["transformer"]
    toks = tokenizers(clip=1, t5=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        transformer = FluxTransformer2DModel(**config)
        vae = AutoencoderKL(**m.TINY["vae"])
        clip = tiny_clip(config["pooled_projection_dim"], projection=False)  # pooled: CLIP-L's output
        t5 = tiny_t5(config["joint_attention_dim"], len(toks["t5"]))
    return FluxPipeline(
        transformer=transformer, scheduler=flow_scheduler(m.TINY["scheduler"]), vae=vae,
        text_encoder=clip, tokenizer=toks["clip"][0], text_encoder_2=t5, tokenizer_2=toks["t5"],
    )  # fmt: skip


def ensure(out: str | Path | None = None, seed: int = 0) -> Path:
    """The tiny-flux directory ``out`` (default ``$SDO_BENCH_CACHE/tiny-flux-v<VERSION>``), saved first
    if it is not there."""
    from ..pipelines import ensure_saved

    return ensure_saved(f"tiny-flux-v{VERSION}", pipeline, out, seed)
