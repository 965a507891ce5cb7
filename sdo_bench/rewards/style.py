"""The style loss of SDO's style-guided generation (the authors' ``style_guide_implict.py``): the mean
squared difference between Gram matrices of a feature extractor's token features, for the generated
image and a style image, as a reward (its negative, so that higher is better as for every reward).

For features ``F`` of shape (B, T, C) — T tokens (positions) of C channels — the Gram matrix of sample
``b`` is ``G_b = F_bᵀ F_b`` (C × C, unnormalized, as the authors compute it); the reward of sample ``b``
is ``-mean((G_b - G_style)²)`` over the C² entries. At full scale the features are CLIP ViT-B/16's
tokens after transformer block 2, all but CLS; in the digits miniature, the reward classifier's first
convolution stage, positions as tokens.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def gram(features: torch.Tensor) -> torch.Tensor:
    """(B, T, C) token features -> (B, C, C) Gram matrices ``Fᵀ F``."""
    return features.transpose(1, 2) @ features


def tokens(feature_map: torch.Tensor) -> torch.Tensor:
    """A (B, C, H, W) convolutional feature map as (B, H·W, C) tokens (one per position)."""
    return feature_map.flatten(2).transpose(1, 2)


def _widened(features: torch.Tensor) -> torch.Tensor:
    return features.to(torch.promote_types(features.dtype, torch.float32))


class GramStyleReward(nn.Module):
    """``-mean((gram(features(x)) - gram(features(style)))²)`` per sample: (B, ...) images -> (B,).

    ``features``: images -> (B, T, C) tokens (differentiable); ``style``: the style image(s), whose Gram
    matrix (averaged over them) is computed once, without gradient."""

    def __init__(self, features: Callable[[torch.Tensor], torch.Tensor], style: torch.Tensor):
        super().__init__()
        self.features = features
        with torch.no_grad():
            self.register_buffer("style_gram", gram(_widened(features(style))).mean(0, keepdim=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """In float32 at least (float64 stays): a Gram matrix sums T products of features, which
        overflows half precision (65504) for CLIP's large-magnitude channels."""
        g = gram(_widened(self.features(x)))
        return -(g - self.style_gram.to(g.dtype)).pow(2).flatten(1).mean(1)


class ClipBlockTokens(nn.Module):
    """An open_clip ViT's token features at the output of transformer block ``block`` (0-based: the
    authors take ``resblocks[2]``), CLS left out: (B, 3, H, W) images in [0, 1] -> (B, T, width).

    The images go to the CLIP input as the authors' script sends them: a bicubic resize to the model's
    input size (no antialiasing, no crop: the images are square), then CLIP's normalization."""

    def __init__(self, clip, block: int):
        super().__init__()
        from .clip_models import input_size

        blocks = clip.visual.transformer.resblocks
        if not 0 <= block < len(blocks):
            raise ValueError(f"style_block must be in 0..{len(blocks) - 1} for this CLIP, got {block}")
        self.visual, self.block, self.size = clip.visual, int(block), input_size(clip)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        from .clip_image import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD

        dtype = self.visual.conv1.weight.dtype
        x = F.interpolate(images.float(), size=(self.size, self.size), mode="bicubic", align_corners=False)
        mean = torch.tensor(OPENAI_CLIP_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(OPENAI_CLIP_STD, device=x.device).view(1, 3, 1, 1)
        x = self.visual._embeds(((x - mean) / std).to(dtype))
        transformer = self.visual.transformer
        if not transformer.batch_first:
            x = x.transpose(0, 1)
        for r in transformer.resblocks[: self.block + 1]:
            x = r(x)
        if not transformer.batch_first:
            x = x.transpose(0, 1)
        return x[:, 1:]
