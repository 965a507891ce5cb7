"""``gmm-target``: negative squared distance of each sample to a fixed target point (higher is better)."""

from __future__ import annotations

import torch
from torch import nn


class GMMTargetReward(nn.Module):
    def __init__(self, target: torch.Tensor):
        super().__init__()
        self.register_buffer("target", target.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: (B, D) samples -> (B,) rewards ``-|x - target|²``."""
        return -((x - self.target) ** 2).sum(dim=-1)
