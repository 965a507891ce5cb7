"""scikit-learn's bundled digits (1,797 8×8 images, 10 classes): the embedded default's only data.

Images are scaled from 0..16 to [-1, 1] and upsampled to 16×16 (bilinear). The train/held-out split is
fixed (stratified, seed 0, 20% held out), so that every network and every FID sees the same split.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

IMAGE_SIZE = 16
HELD_OUT_FRACTION = 0.2
SPLIT_SEED = 0


@dataclass
class DigitsSplit:
    train_x: torch.Tensor  # (n, 1, S, S) in [-1, 1]
    train_y: torch.Tensor  # (n,)
    held_x: torch.Tensor
    held_y: torch.Tensor


def to_model_space(images8: np.ndarray, size: int = IMAGE_SIZE) -> torch.Tensor:
    x = torch.as_tensor(images8, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.clamp(0, 1) * 2 - 1


@lru_cache(maxsize=2)
def load_split(size: int = IMAGE_SIZE) -> DigitsSplit:
    """The split, on real tensors also when first asked for under the cost model's fake mode (it is
    cached for the process: fake tensors here would outlive that mode)."""
    from ...sampling.base import real_tensors

    with real_tensors():
        return _load_split(size)


def _load_split(size: int) -> DigitsSplit:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    idx_train, idx_held = train_test_split(
        np.arange(len(d.target)), test_size=HELD_OUT_FRACTION, random_state=SPLIT_SEED, stratify=d.target
    )
    x = to_model_space(d.images, size)
    y = torch.as_tensor(d.target, dtype=torch.long)
    return DigitsSplit(x[idx_train], y[idx_train], x[idx_held], y[idx_held])


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """Model space [-1, 1] -> image space [0, 1] (differentiable; clamped)."""
    return ((x + 1) / 2).clamp(0, 1)
