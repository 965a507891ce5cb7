"""HPSv2 / HPSv2.1: human preference score of an image for its prompt (Wu et al. 2023).

The network is open_clip's ViT-H-14 built with ``pretrained=None`` and loaded with the HPS checkpoint
(``HPS_v2_compressed.pt`` or ``HPS_v2.1_compressed.pt``, ``{"state_dict": ...}``) from a local path —
the ``hpsv2`` distribution itself is not used (it downloads 3.9 GB even when given a checkpoint).

score(image, prompt) = <f_img(preprocess(image)), f_txt(prompt)> with both features L2-normalized, as in
HPSv2's ``img_score.py`` (no logit scale; typical values 0.2–0.35). ``preprocess`` is the differentiable
equal of its evaluation transform (:mod:`sdo_bench.rewards.clip_image`). :meth:`HPSv2Reward.score_pil`
is the non-differentiable path through open_clip's own PIL transform, kept as the reference.
"""

from __future__ import annotations

import torch
from torch import nn

from .clip_image import preprocess, reference_transform
from .clip_models import TINY, input_size, load_clip

VERSIONS = {"v2.0": "HPS_v2_compressed.pt", "v2.1": "HPS_v2.1_compressed.pt"}
WHERE = (
    "the HPSv2 checkpoints are on the Hugging Face hub (repo xswu/HPSv2: HPS_v2_compressed.pt for "
    "v2.0, HPS_v2.1_compressed.pt for v2.1); download the file once and point the option at it"
)


class HPSv2Reward(nn.Module):
    """Differentiable HPS of (B, 3, H, W) images in [0, 1] for their prompts; returns (B,)."""

    def __init__(self, clip, tokenizer, prompts: list[str]):
        super().__init__()
        self.clip = clip
        self.tokenizer = tokenizer
        self.size = input_size(clip)
        self.set_prompts(prompts)

    @torch.no_grad()
    def set_prompts(self, prompts: list[str]) -> None:
        self.prompts = list(prompts)
        dev = next(self.clip.parameters()).device
        self.text_features = self.clip.encode_text(self.tokenizer(self.prompts).to(dev), normalize=True)

    def _prompt_features(self, n: int) -> torch.Tensor:
        """Image ``i`` of a batch of ``n`` is scored against prompt ``i % len(prompts)``."""
        idx = torch.arange(n, device=self.text_features.device) % len(self.prompts)
        return self.text_features[idx]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = preprocess(images, self.size).to(self.text_features.dtype)
        f = self.clip.encode_image(x, normalize=True)
        return (f * self._prompt_features(images.shape[0])).sum(-1)

    @torch.no_grad()
    def score_pil(self, images: list, prompts: list[str]) -> torch.Tensor:
        """HPSv2's own evaluation path: PIL images through open_clip's transform, ``model(image, text)``."""
        tf = reference_transform(self.size)
        dev = self.text_features.device
        x = torch.stack([tf(im) for im in images]).to(dev, self.text_features.dtype)
        out = self.clip(x, self.tokenizer(list(prompts)).to(dev))
        img, txt = (out["image_features"], out["text_features"]) if isinstance(out, dict) else out[:2]
        return torch.diagonal(img @ txt.T)


def load_hpsv2(
    checkpoint,
    prompts: list[str],
    *,
    key: str = "hps_checkpoint",
    model: str = "ViT-H-14",
    version: str = "v2.1",
    dtype=torch.float32,
    device="cpu",
) -> HPSv2Reward:
    """HPS ``version`` (v2.0 or v2.1: the same network, different checkpoint files) from a local file."""
    import open_clip

    if version not in VERSIONS:
        raise ValueError(f"hps_version must be one of {', '.join(VERSIONS)}, got {version!r}")
    if model == TINY:  # the tiny random tower sdo-bench builds itself: no file to download
        where = "the tiny reward is built by sdo-bench: delete the file (or reward_dir) to build it again"
    else:
        where = f"expected {VERSIONS[version]} for HPS{version}; {WHERE}"
    clip = load_clip(model, checkpoint, key=key, where=where, dtype=dtype, device=device)
    return HPSv2Reward(clip, open_clip.get_tokenizer(model), prompts)
