"""The held-out judge of the digits world: a second classifier that no optimization sees, and FID/KID
(torchmetrics) on its 64-d features against the held-out split.

A method that games the reward classifier (adversarial pixels) shows up as a target probability under
the judge far below the reward's: the judge has an 11th class, "not a digit", trained on noise, blurs
and images made adversarially against the reward classifier (:mod:`sdo_bench.tasks.digits.not_a_digit`), and
``judge_real_prob`` is the mean of ``1 - p(not a digit)``.

FID and KID are reported only for at least :data:`MIN_FID_SAMPLES` samples (the held-out noises of the
condition, lora and weights tasks); over the 8 samples of a latent task they carry no signal. KID comes
with its standard error over the subsets torchmetrics draws.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .classifier import load_classifier
from .data import load_split, to_unit
from .not_a_digit import NOT_A_DIGIT

MIN_FID_SAMPLES = 256
KID_SUBSETS = 50


class _Features(nn.Module):
    """The judge's feature layer in the shape torchmetrics expects of a custom extractor."""

    def __init__(self, judge: nn.Module):
        super().__init__()
        self.judge = judge
        self.num_features = judge.num_features

    def forward(self, images):
        return self.judge.features(images.float())


@lru_cache(maxsize=4)
def _judge(weights_dir: str) -> nn.Module:
    return load_classifier("judge", weights_dir)


def fid_kid(fake01: torch.Tensor, real01: torch.Tensor, weights_dir: str | Path) -> dict:
    """FID and KID between two image sets in [0, 1] (B, 1, 16, 16), on the judge's features."""
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.kid import KernelInceptionDistance

    feats = _Features(_judge(str(weights_dir)))
    n = min(len(fake01), len(real01))
    fid = FrechetInceptionDistance(feature=feats, normalize=True)
    kid = KernelInceptionDistance(
        feature=feats, normalize=True, subset_size=max(2, min(100, n)), subsets=KID_SUBSETS
    )
    # KID draws its subsets from the global generator, whose seed differs per process: seeded here so
    # that the same images give the same KID in every run
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for metric in (fid, kid):
            metric.update(real01.float().cpu(), real=True)
            metric.update(fake01.float().cpu(), real=False)
        k_mean, k_std = kid.compute()
        return {
            "fid": float(fid.compute()),
            "kid": float(k_mean),
            "kid_std": float(k_std),
            "kid_se": float(k_std) / KID_SUBSETS**0.5,
            "n_fake": len(fake01),
            "n_real": len(real01),
        }


@lru_cache(maxsize=2)
def held_out_images() -> torch.Tensor:
    return to_unit(load_split().held_x)


class DigitsJudge:
    """``judge(images01) -> dict``: target-digit probability and accuracy under the judge, the probability
    of being a digit at all, and FID and KID from :data:`MIN_FID_SAMPLES` samples up."""

    def __init__(self, weights_dir: str | Path, target_digit: int):
        self.weights_dir = str(weights_dir)
        self.target_digit = int(target_digit)
        _judge(self.weights_dir)  # fail early with the path in the message

    @torch.no_grad()
    def __call__(self, images01: torch.Tensor) -> dict:
        images01 = images01.detach().float().cpu()
        probs = F.softmax(_judge(self.weights_dir)(images01), dim=-1)
        out = {
            "judge_target_prob": float(probs[:, self.target_digit].mean()),
            "judge_target_acc": float((probs.argmax(-1) == self.target_digit).float().mean()),
            "judge_real_prob": float((1 - probs[:, NOT_A_DIGIT]).mean()),
            "judge_class_histogram": torch.bincount(probs.argmax(-1), minlength=NOT_A_DIGIT + 1).tolist(),
        }
        if len(images01) >= MIN_FID_SAMPLES:
            out.update(fid_kid(images01, held_out_images(), self.weights_dir))
        else:
            out["fid_note"] = f"FID/KID not computed: {len(images01)} samples < {MIN_FID_SAMPLES}"
        return out
