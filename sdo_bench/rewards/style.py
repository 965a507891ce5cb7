"""The style loss of SDO's style-guided generation (the authors' ``style_guide_implict.py``): the mean
squared difference between Gram matrices of a feature extractor's token features, for the generated
image and a style image, as a reward (its negative, so that higher is better as for every reward).

For features ``F`` of shape (B, T, C) — T tokens (positions) of C channels — the Gram matrix of sample
``b`` is ``G_b = F_bᵀ F_b / T`` (C × C); the reward of sample ``b`` is ``-mean((G_b - G_style)²)`` over
the C² entries. At full scale the features are CLIP ViT-B/16's tokens after transformer block 2, all but
CLS; in the digits miniature, the reward classifier's first convolution stage, positions as tokens.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def gram(features: torch.Tensor) -> torch.Tensor:
    """(B, T, C) token features -> (B, C, C) Gram matrices ``Fᵀ F / T``."""
    return features.transpose(1, 2) @ features / features.shape[1]


def tokens(feature_map: torch.Tensor) -> torch.Tensor:
    """A (B, C, H, W) convolutional feature map as (B, H·W, C) tokens (one per position)."""
    return feature_map.flatten(2).transpose(1, 2)


class GramStyleReward(nn.Module):
    """``-mean((gram(features(x)) - gram(features(style)))²)`` per sample: (B, ...) images -> (B,).

    ``features``: images -> (B, T, C) tokens (differentiable); ``style``: the style image(s), whose Gram
    matrix (averaged over them) is computed once, without gradient."""

    def __init__(self, features: Callable[[torch.Tensor], torch.Tensor], style: torch.Tensor):
        super().__init__()
        self.features = features
        with torch.no_grad():
            self.register_buffer("style_gram", gram(features(style)).mean(0, keepdim=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = gram(self.features(x))
        return -(g - self.style_gram.to(g.dtype)).pow(2).flatten(1).mean(1)
