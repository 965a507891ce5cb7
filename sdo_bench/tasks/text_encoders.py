"""The text encoders of the 2023–2025 latent-diffusion families, built from the configs shipped in
``sdo_bench/assets/text_encoders`` (CLIP-L, OpenCLIP-bigG, T5-XXL), for the cost model's weights: with
``text_encoders: resident`` they stay in memory beside the denoiser and count; with ``precomputed``
the prompts are encoded once beforehand and no encoder is held (what many users do with T5).
"""

from __future__ import annotations

from ..weights import asset_config

#: name: (label, the class the pipelines use)
ENCODERS = {
    "clip-l": ("CLIP-L", "CLIPTextModel"),
    "clip-l+projection": ("CLIP-L", "CLIPTextModelWithProjection"),
    "clip-bigg": ("OpenCLIP-bigG", "CLIPTextModelWithProjection"),
    "t5-xxl": ("T5-XXL", "T5EncoderModel"),
}


def build(name: str):
    """One encoder from its shipped config (weights freshly initialised: the cost model's fake tensors)."""
    import transformers

    label, cls = ENCODERS[name]
    config = asset_config(f"text_encoders/{name.split('+')[0]}.json")
    config_cls = transformers.T5Config if cls == "T5EncoderModel" else transformers.CLIPTextConfig
    return getattr(transformers, cls)(config_cls(**config))


def resident_words(labels: str, mode: str) -> str:
    """What a cost row says about the text encoders ``labels`` (e.g. "CLIP-L, T5-XXL") in ``mode``."""
    if mode == "precomputed":
        return f"text encoders not resident ({labels}: embeddings precomputed)"
    return f"{labels} (resident)"


def resident_encoders(names, mode: str, dtype, device) -> tuple[dict, str]:
    """The encoders ``names`` as frozen modules where ``mode`` is ``resident`` (none where
    ``precomputed``), and the words a cost row uses for them."""
    from .base import frozen

    labels = ", ".join(ENCODERS[n][0] for n in names)
    if mode == "precomputed":
        return {}, resident_words(labels, mode)
    return {n: frozen(build(n), dtype, device) for n in names}, resident_words(labels, mode)


#: the tiny pipelines' CLIP text encoders: CLIP's vocabulary and 77 positions (the real tokenizer
#: reads every prompt), two layers of a given width
TINY_CLIP = dict(
    intermediate_size=37, num_attention_heads=2, num_hidden_layers=2, layer_norm_eps=1e-5,
    vocab_size=49408, bos_token_id=49406, eos_token_id=49407, pad_token_id=49407,
    max_position_embeddings=77,
)  # fmt: skip


def tiny_clip(width: int, *, projection: bool):
    """A tiny CLIP text encoder of hidden size ``width`` (with a ``width`` projection: the class SDXL's
    second encoder and SD3's two use), random weights from the caller's generator state."""
    import transformers

    config = transformers.CLIPTextConfig(hidden_size=width, projection_dim=width, **TINY_CLIP)
    cls = transformers.CLIPTextModelWithProjection if projection else transformers.CLIPTextModel
    return cls(config)


def tiny_t5(width: int, vocab_size: int):
    """A one-layer T5 encoder of width ``width`` over the tiny tokenizer's ``vocab_size`` pieces."""
    import transformers

    config = transformers.T5Config(
        vocab_size=vocab_size, d_model=width, d_kv=8, d_ff=2 * width, num_layers=1, num_heads=2,
        relative_attention_num_buckets=8, dropout_rate=0.0,
    )  # fmt: skip
    return transformers.T5EncoderModel(config)


def tokenizers(*, clip: int = 0, t5: bool = False) -> dict:
    """``clip`` copies of the offline CLIP tokenizer and, with ``t5``, the tiny T5 tokenizer, written to a
    temporary directory and loaded back: ``{"clip": [tok, …], "t5": tok}``."""
    import tempfile
    from pathlib import Path

    from transformers import CLIPTokenizer, T5TokenizerFast

    from .tokenizers import write_clip_tokenizer, write_t5_tokenizer

    with tempfile.TemporaryDirectory() as tmp:
        clip_tok = CLIPTokenizer.from_pretrained(write_clip_tokenizer(Path(tmp) / "clip")) if clip else None
        found = {"clip": [clip_tok] * clip}
        if t5:
            found["t5"] = T5TokenizerFast.from_pretrained(write_t5_tokenizer(Path(tmp) / "t5"))
    return found
