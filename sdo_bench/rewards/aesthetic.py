"""LAION aesthetic predictor v2 (``improved-aesthetic-predictor``, Schuhmann et al. 2022).

score(image) = MLP(e / ||e||) with ``e`` the CLIP ViT-L/14 image embedding (OpenAI weights) and the MLP
head ``sac+logos+ava1-l14-linearMSE.pth``; typical scores 4–7. Both load from local files; the image
goes through the same differentiable CLIP preprocessing as HPSv2 (:mod:`sdo_bench.rewards.clip_image`).
"""

from __future__ import annotations

import torch
from torch import nn

from ..weights import WeightsError, require
from .clip_image import preprocess
from .clip_models import input_size, load_clip

WHERE_HEAD = (
    "the head is sac+logos+ava1-l14-linearMSE.pth from github.com/christophschuhmann/"
    "improved-aesthetic-predictor; download it once and point the option at it"
)
WHERE_CLIP = (
    "OpenAI's CLIP ViT-L/14 weights: ViT-L-14.pt (openaipublic) or open_clip_pytorch_model.bin "
    "of the hub repo timm/vit_large_patch14_clip_224.openai; download once, point the option at it"
)


class AestheticMLP(nn.Module):
    """The LAION head (state-dict keys ``layers.{0,2,4,6,7}``); dropout is inactive in eval mode."""

    def __init__(self, input_size: int = 768):
        super().__init__()
        self.input_size = input_size
        self.layers = nn.Sequential(
            nn.Linear(input_size, 1024),
            nn.Dropout(0.2),
            nn.Linear(1024, 128),
            nn.Dropout(0.2),
            nn.Linear(128, 64),
            nn.Dropout(0.1),
            nn.Linear(64, 16),
            nn.Linear(16, 1),
        )

    def forward(self, x):
        return self.layers(x)


class AestheticReward(nn.Module):
    """Differentiable aesthetic score of (B, 3, H, W) images in [0, 1]; returns (B,)."""

    def __init__(self, clip, head: AestheticMLP):
        super().__init__()
        self.clip, self.head = clip, head
        self.size = input_size(clip)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        dtype = next(self.head.parameters()).dtype
        e = self.clip.encode_image(preprocess(images, self.size).to(dtype), normalize=True)
        return self.head(e).squeeze(-1)


def load_aesthetic(
    clip_checkpoint,
    head_path,
    *,
    model: str = "ViT-L-14",
    quick_gelu: bool = True,
    dtype=torch.float32,
    device="cpu",
) -> AestheticReward:
    clip = load_clip(
        model,
        clip_checkpoint,
        key="aesthetic_clip",
        where=WHERE_CLIP,
        quick_gelu=quick_gelu,
        dtype=dtype,
        device=device,
    )
    path = require(head_path, key="aesthetic_head", where=WHERE_HEAD)
    head = AestheticMLP(clip.visual.output_dim)
    try:
        if path is not None:  # None: configs_only (cost model), the architecture without weights
            state = torch.load(path, map_location="cpu", weights_only=True)
            head.load_state_dict(state.get("state_dict", state), strict=True)
    except Exception as e:  # noqa: BLE001
        raise WeightsError(
            f"aesthetic_head: {path} is not the LAION aesthetic MLP for a "
            f"{clip.visual.output_dim}-d CLIP embedding ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:300]}). {WHERE_HEAD}"
        ) from None
    head.to(dtype=dtype, device=device).eval().requires_grad_(False)
    return AestheticReward(clip, head)
