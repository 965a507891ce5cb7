"""The tiny open_clip checkpoints the tests and the ``tiny-sd`` tasks use: random weights in the real
files' formats, built offline (``sdo-bench build-tiny``) into a directory or ``$SDO_BENCH_CACHE``."""

from __future__ import annotations

from pathlib import Path

import torch

from ..weights import cache_dir, ensure_built
from .aesthetic import AestheticMLP
from .clip_models import TINY, _create, register_tiny

TINY_VERSION = 1


def cache() -> Path:
    return cache_dir(f"tiny-clip-v{TINY_VERSION}")


def build(out, seed: int = 0) -> Path:
    """Random-weight tiny checkpoints in the real files' formats: ``hps.pt`` ({"state_dict": CLIP}),
    ``clip.pt`` (a bare CLIP state dict) and ``aesthetic_head.pth`` (the LAION MLP's state dict)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    register_tiny()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clip = _create(TINY)
        head = AestheticMLP(clip.visual.output_dim)
        torch.manual_seed(seed + 1)
        clip2 = _create(TINY)
    torch.save({"state_dict": clip.state_dict()}, out / "hps.pt")
    torch.save(clip2.state_dict(), out / "clip.pt")
    torch.save(head.state_dict(), out / "aesthetic_head.pth")
    return out


def ensure(out=None, seed: int = 0) -> Path:
    """The tiny checkpoints' directory (default under ``$SDO_BENCH_CACHE``), built atomically if missing."""
    return ensure_built(
        Path(out) if out else cache(), "aesthetic_head.pth", lambda tmp: build(tmp, seed=seed)
    )
