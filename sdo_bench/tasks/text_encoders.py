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


def resident_encoders(names, mode: str, dtype, device) -> tuple[dict, str]:
    """The encoders ``names`` as frozen modules where ``mode`` is ``resident`` (none where
    ``precomputed``), and the words a cost row uses for them."""
    from .base import frozen

    labels = ", ".join(ENCODERS[n][0] for n in names)
    if mode == "precomputed":
        return {}, f"text encoders not resident ({labels}: embeddings precomputed)"
    return {n: frozen(build(n), dtype, device) for n in names}, f"{labels} (resident)"
