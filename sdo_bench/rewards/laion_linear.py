"""The aesthetic score of SDO's real-image experiment (the authors' ``aesthetic_implict.py``): LAION's
linear aesthetic heads on two OpenAI CLIP image towers, averaged over random cutouts.

For each tower ``m`` (ViT-L/14 with ``sa_0_4_vit_l_14_linear.pth``, ViT-B/32 with
``sa_0_4_vit_b_32_linear.pth``: one ``nn.Linear(width, 1)`` each, from
github.com/LAION-AI/aesthetic-predictor)
the score of an image is ``mean over cutouts of clip(head(e / ||e||), 1, 10)``; the prediction is
``(w_L score_L + w_B score_B) / 2`` with weights 0.5 and 1.5, and the loss is ``|prediction - target|``
(target 10). Here the reward is its negative, per sample.

Cutouts (the authors' ``MakeCutouts``, cut power 0.3): ``n`` squares of side
``int(u^power · (min side − 224) + 224)`` at uniform offsets, average-pooled to 224. The authors draw new
cutouts at every call from the global generator; the suite draws them once per task from the seed, so
that the objective is one deterministic function — what an exact gradient and a fair race need.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..weights import WeightsError, require
from .clip_image import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from .clip_models import input_size, load_clip

WHERE_HEADS = (
    "the linear heads sa_0_4_vit_l_14_linear.pth and sa_0_4_vit_b_32_linear.pth are in "
    "github.com/LAION-AI/aesthetic-predictor; download them once and point the options at them"
)
WHERE_CLIPS = (
    "OpenAI's CLIP weights: ViT-L-14.pt and ViT-B-32.pt (openaipublic), or open_clip_pytorch_model.bin of "
    "the hub repos timm/vit_large_patch14_clip_224.openai and timm/vit_base_patch32_clip_224.openai"
)


def cutout_boxes(side: int, size: int, n: int, power: float, seed: int) -> list[tuple[int, int, int]]:
    """``n`` (top, left, side) squares in a ``side``-pixel square image, drawn as the authors' cutouts."""
    import random

    rng = random.Random(seed)  # Python's generator: plain numbers, also under the cost model's fake mode
    boxes = []
    lo = min(side, size)
    for _ in range(n):
        s = int(rng.random() ** power * (side - lo) + lo)
        left, top = rng.randint(0, side - s), rng.randint(0, side - s)
        boxes.append((top, left, s))
    return boxes


class LaionLinearAesthetic(nn.Module):
    """``-|(Σ_m w_m mean_cutouts clip(head_m(ê_m), 1, 10)) / M - target|`` per sample: (B, 3, H, W)
    images in [0, 1] -> (B,)."""

    def __init__(self, clips, heads, weights=(0.5, 1.5), target=10.0, cutouts=16, power=0.3, seed=0):
        super().__init__()
        self.clips, self.heads = nn.ModuleList(clips), nn.ModuleList(heads)
        self.weights, self.target = tuple(float(w) for w in weights), float(target)
        self.n, self.power, self.seed = int(cutouts), float(power), int(seed)

    def crops(self, images: torch.Tensor, size: int) -> torch.Tensor:
        """(B, 3, S, S) -> (n·B, 3, size, size): the task's fixed cutouts, cutout-major as the authors'."""
        boxes = cutout_boxes(images.shape[-1], size, self.n, self.power, self.seed)
        return torch.cat(
            [F.adaptive_avg_pool2d(images[..., t : t + s, x : x + s], size) for t, x, s in boxes]
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        B = images.shape[0]
        x = images.clamp(0, 1)
        total = 0.0
        for clip, head, w in zip(self.clips, self.heads, self.weights):
            size = input_size(clip)
            mean = torch.tensor(OPENAI_CLIP_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
            std = torch.tensor(OPENAI_CLIP_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
            crops = (self.crops(x, size) - mean) / std
            e = clip.encode_image(crops.to(head.weight.dtype), normalize=True)
            score = head(e).squeeze(-1).clamp(1, 10).view(self.n, B).mean(0)
            total = total + w * score
        return -(total / len(self.clips) - self.target).abs()


def load_laion_linear(s: dict, *, dtype, device, seed: int) -> LaionLinearAesthetic:
    """The two towers and heads from the task settings ``s`` (``aesthetic_clip_l`` / ``_b``,
    ``aesthetic_head_l`` / ``_b``; the open_clip architectures ``aesthetic_models``)."""
    clips, heads = [], []
    for tower, name in zip(("l", "b"), s["aesthetic_models"]):
        clip = load_clip(name, s[f"aesthetic_clip_{tower}"], key=f"aesthetic_clip_{tower}", where=WHERE_CLIPS,
                         quick_gelu=True, dtype=dtype, device=device)  # fmt: skip
        head = nn.Linear(clip.visual.output_dim, 1)
        path = require(s[f"aesthetic_head_{tower}"], key=f"aesthetic_head_{tower}", where=WHERE_HEADS)
        if path is not None:  # None: the cost model, the architecture without weights
            try:
                head.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
            except Exception as e:  # noqa: BLE001 - a wrong file is a user error, say which
                raise WeightsError(
                    f"aesthetic_head_{tower}: {path} is not a LAION linear head for a "
                    f"{clip.visual.output_dim}-d CLIP embedding ({type(e).__name__}: "
                    f"{str(e).splitlines()[0][:200]}). {WHERE_HEADS}"
                ) from None
        clips.append(clip)
        heads.append(head.to(dtype=dtype, device=device).eval().requires_grad_(False))
    return LaionLinearAesthetic(clips, heads, cutouts=s["cutouts"], seed=seed)
