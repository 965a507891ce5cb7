"""How far an optimized image moved from the real image it started from: mean squared error and PSNR
(images in [0, 1]), reported beside a task's judge (the paper's real-image experiments)."""

from __future__ import annotations

import math

import torch


class FidelityJudge:
    """The task's own judge's scores (where it has one) and, beside them, ``fidelity_mse`` and
    ``fidelity_psnr_db`` of the final images against ``originals01`` (the same order)."""

    def __init__(self, judge, originals01: torch.Tensor):
        self.judge, self.originals01 = judge, originals01.detach().float().cpu()

    def __call__(self, images01: torch.Tensor) -> dict:
        out = dict(self.judge(images01)) if self.judge is not None else {}
        mse = float((images01.detach().float().cpu() - self.originals01).pow(2).mean())
        out["fidelity_mse"] = mse
        out["fidelity_psnr_db"] = 10 * math.log10(1.0 / mse) if mse > 0 else math.inf
        return out
