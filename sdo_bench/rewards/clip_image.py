"""CLIP image preprocessing, differentiable, equal to open_clip's evaluation transform.

open_clip's (and HPSv2's) evaluation transform on a PIL image is ``Resize(size, bicubic)`` of the
shorter side, ``CenterCrop(size)``, ``ToTensor``, ``Normalize(OpenAI CLIP mean, std)``. PIL's bicubic
resize is antialiased (its kernel widens when downsampling); torch's ``interpolate(mode="bicubic",
antialias=True)`` is the same kernel, so on the same pixels the two agree up to PIL's rounding of its
8-bit output. Here images are clamped to [0, 1] first, as the HPSv2 protocol says.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def resized_shape(h: int, w: int, size: int) -> tuple[int, int]:
    """torchvision's ``Resize(size)`` for an int size: the shorter side becomes ``size``."""
    short, long = (h, w) if h <= w else (w, h)
    new_long = int(size * long / short)
    return (size, new_long) if h <= w else (new_long, size)


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return x[..., top : top + size, left : left + size]


def preprocess(
    images: torch.Tensor, size: int = 224, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD
) -> torch.Tensor:
    """(B, 3, H, W) images in [0, 1] -> the CLIP input (B, 3, size, size), differentiable."""
    x = images.clamp(0, 1)
    h, w = x.shape[-2:]
    if (h, w) != (size, size):
        dtype = x.dtype  # antialiased resampling has no float16/bfloat16 kernels: resize in float32
        x = F.interpolate(
            x.float() if dtype in (torch.float16, torch.bfloat16) else x,
            size=resized_shape(h, w, size),
            mode="bicubic",
            align_corners=False,
            antialias=True,
        ).to(dtype)
        x = center_crop(x, size)
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - m) / s


def reference_transform(size: int = 224):
    """open_clip's own evaluation transform (PIL in, tensor out): the non-differentiable reference."""
    import open_clip

    return open_clip.image_transform(size, is_train=False, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD)


def to_pil(images: torch.Tensor) -> list:
    """(B, 3, H, W) in [0, 1] -> 8-bit PIL images (the way images are saved and then scored)."""
    from PIL import Image

    arr = (images.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(a) for a in arr]
