"""open_clip models from local checkpoints (nothing downloads), and the tiny config the tests use.

``load_clip(name, checkpoint)`` builds ``open_clip.create_model(name, pretrained=None)`` and loads a
local file into it: an open_clip/HPS checkpoint (``{"state_dict": ...}`` or a bare state dict, .pt /
.bin / .safetensors) or OpenAI's TorchScript archive (``ViT-L-14.pt``).

``sdo-tiny-clip`` is a 2-layer ViT-B/32-shaped CLIP of width 32 at the real input size (224 px) and the
real vocabulary (49408): registered with ``open_clip.add_model_config`` at run time, it stands in for
ViT-H-14 (HPSv2) and ViT-L-14 (aesthetic) in offline tests and in the ``tiny-sd`` tasks.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import torch

from ..weights import ASSETS, WeightsError, require

TINY = "sdo-tiny-clip"
_CONFIG_DIR = ASSETS / "open_clip"


def register_tiny() -> str:
    """Register the tiny open_clip config(s) shipped in ``sdo_bench/assets/open_clip``; returns the name."""
    import open_clip

    if TINY not in open_clip.list_models():
        open_clip.add_model_config(_CONFIG_DIR)
    return TINY


def _create(name: str, **kw):
    import open_clip

    logging.disable(logging.WARNING)  # "No pretrained weights loaded": intended, weights load next
    try:
        return open_clip.create_model(name, pretrained=None, **kw)
    finally:
        logging.disable(logging.NOTSET)


def _state_dict(path: Path) -> dict:
    from open_clip.factory import load_state_dict

    try:
        return load_state_dict(str(path), weights_only=True)
    except Exception:  # noqa: BLE001 - fall through to the other formats
        pass
    try:  # OpenAI's TorchScript archive (torch's deprecation of jit.load is no news to a user here)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sd = torch.jit.load(str(path), map_location="cpu").state_dict()
        for key in ("input_resolution", "context_length", "vocab_size"):
            sd.pop(key, None)
        return sd
    except Exception:  # noqa: BLE001
        pass
    # older pickles (e.g. HPS checkpoints saved with extra Python objects): the user's own local file
    return load_state_dict(str(path), weights_only=False)


def load_clip(
    name: str,
    checkpoint,
    *,
    key: str,
    where: str,
    quick_gelu: bool = False,
    dtype: torch.dtype = torch.float32,
    device="cpu",
):
    """open_clip model ``name`` with the weights of the local file ``checkpoint`` (frozen, eval mode)."""
    if name == TINY:
        register_tiny()
    path = require(checkpoint, key=key, where=where)
    model = _create(name, force_quick_gelu=quick_gelu)
    if path is None:  # configs_only (cost model): the architecture without weights
        return model.to(dtype=dtype, device=device).eval().requires_grad_(False)
    try:
        state = _state_dict(path)
        state.pop("text.transformer.embeddings.position_ids", None)
        if "logit_scale" in state and state["logit_scale"].ndim != model.logit_scale.ndim:
            state["logit_scale"] = state["logit_scale"].reshape(model.logit_scale.shape)
        model.load_state_dict(state, strict=True)
    except Exception as e:  # noqa: BLE001 - a wrong file is a user error, say which
        raise WeightsError(
            f"{key}: {path} is not a checkpoint of open_clip model {name} "
            f"({type(e).__name__}: {str(e).splitlines()[0][:300]}). {where}"
        ) from None
    model.to(dtype=dtype, device=device).eval().requires_grad_(False)
    return model


def input_size(clip) -> int:
    """The square input size (px) of an open_clip model's image tower."""
    size = clip.visual.image_size
    return int(size[0] if isinstance(size, (tuple, list)) else size)
