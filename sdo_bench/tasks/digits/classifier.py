"""``digit-classifier``: log-probability of a target digit under a small CNN trained on the bundled digits.

The same file defines the held-out *judge*'s network (a different architecture, trained with another
seed) because both are trained by ``sdo-bench train-classifier`` in the same way; the judge never enters
an optimization (see :mod:`sdo_bench.judge`). Inputs are images in [0, 1], shape (B, 1, 16, 16).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ...weights import skipped
from .data import load_split, to_unit

TRAIN_COMMAND = "sdo-bench train-classifier --out {path}"


class RewardCNN(nn.Module):
    """Two conv stages (SiLU, max-pool) and an MLP head."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.SiLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.SiLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 128),
            nn.SiLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(128, 10))

    def forward(self, images):
        return self.head(self.features(images))


class JudgeCNN(nn.Module):
    """Strided convs (GELU) and a 64-d feature layer, used for FID/KID; ``num_features`` for torchmetrics.
    Eleven outputs: the ten digits and "not a digit" (:mod:`sdo_bench.tasks.digits.not_a_digit`)."""

    num_features = 64
    num_classes = 11

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 24, 5, stride=2, padding=2),
            nn.GELU(),
            nn.Conv2d(24, 48, 3, stride=2, padding=1),
            nn.GELU(),
            nn.Flatten(),
            nn.Linear(48 * 4 * 4, self.num_features),
            nn.GELU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(self.num_features, self.num_classes))

    def forward(self, images):
        return self.head(self.features(images))


ARCHS = {"reward": (RewardCNN, "classifier.pt", 0), "judge": (JudgeCNN, "judge.pt", 1)}


class DigitClassifierReward(nn.Module):
    """Reward ``log p(target | image)`` for images in model space [-1, 1] (B, 1, 16, 16) -> (B,)."""

    def __init__(self, classifier: nn.Module, target_digit: int):
        super().__init__()
        self.classifier = classifier.eval()
        self.target_digit = int(target_digit)

    def forward(self, x):
        return F.log_softmax(self.classifier(to_unit(x)), dim=-1)[:, self.target_digit]


def _augment(x, g):
    # random shifts of up to one pixel and light pixel noise, images in [0, 1]
    dx, dy = torch.randint(-1, 2, (2,), generator=g).tolist()
    x = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
    return (x + 0.03 * torch.randn(x.shape, generator=g)).clamp(0, 1)


def train_classifier(
    kind: str,
    out_dir: str | Path,
    *,
    epochs: int = 30,
    batch: int = 64,
    lr: float = 2e-3,
    seed: int | None = None,
    progress: bool | None = None,
    not_a_digit_images: int | None = None,
) -> dict:
    """Train the reward classifier (``kind='reward'``) or the judge (``'judge'``) and save it.

    The judge also learns an 11th class, "not a digit" (:mod:`sdo_bench.tasks.digits.not_a_digit`: noise,
    blurs and images made adversarially against the reward classifier, which must already be in
    ``out_dir``, directly and through the digits model in ``out_dir/unet`` where it is there), as many
    images as half the training digits."""
    cls, filename, default_seed = ARCHS[kind]
    seed = default_seed if seed is None else seed
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    split = load_split()
    x, y = to_unit(split.train_x), split.train_y
    if kind == "judge":
        from . import not_a_digit

        unet = Path(out_dir) / "unet" / "config.json"
        other = not_a_digit.images(
            load_classifier("reward", out_dir),
            x,
            len(x) // 2 if not_a_digit_images is None else not_a_digit_images,
            seed=1000 + seed,
            weights_dir=out_dir if unet.is_file() else None,
        )
        x = torch.cat([x, other])
        y = torch.cat([y, torch.full((len(other),), not_a_digit.NOT_A_DIGIT, dtype=y.dtype)])
    net = cls()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    t0 = time.time()
    for _ in tqdm(range(epochs), desc=f"train {kind} classifier", disable=progress is False):
        net.train()
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), batch):
            idx = perm[i : i + batch]
            loss = F.cross_entropy(net(_augment(x[idx], g)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
    net.eval()
    acc = accuracy(net, split.held_x, split.held_y)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    info = {
        "kind": kind,
        "arch": cls.__name__,
        "seed": seed,
        "epochs": epochs,
        "held_out_accuracy": acc,
        "train_seconds": time.time() - t0,
    }
    torch.save({"state_dict": net.state_dict(), "info": info}, out_dir / filename)
    (out_dir / f"{kind}_training.json").write_text(json.dumps(info, indent=1))
    return dict(
        info,
        summary=f"trained {kind} classifier {info['arch']} in {info['train_seconds']:.0f} s; "
        f"held-out accuracy {acc:.4f}",
    )


@torch.no_grad()
def accuracy(net: nn.Module, x_model_space: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    return float((net(to_unit(x_model_space)).argmax(-1) == y).float().mean())


def load_classifier(kind: str, weights_dir: str | Path) -> nn.Module:
    """Load the reward classifier or the judge from ``weights_dir``; clear errors name path and fix."""
    cls, filename, _ = ARCHS[kind]
    if skipped():  # the architecture only (cost model)
        return cls().eval().requires_grad_(False)
    path = Path(weights_dir) / filename
    fix = f"create it with `{TRAIN_COMMAND.format(path=Path(weights_dir))}`"
    if not path.is_file():
        raise FileNotFoundError(f"digit {kind} classifier not found at {path}; {fix}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        net = cls()
        net.load_state_dict(blob["state_dict"])
    except Exception as e:  # noqa: BLE001
        raise FileNotFoundError(
            f"digit {kind} classifier at {path} could not be loaded "
            f"({type(e).__name__}: {str(e).splitlines()[0][:200]}); {fix}"
        ) from None
    for p in net.parameters():
        p.requires_grad_(False)
    return net.eval()


def train_summary(which: str, out_dir, epochs: int = 30) -> str:
    """``sdo-bench train-classifier``: ``which`` = reward, judge or both; one line per classifier."""
    from ...records.io import check_dir

    check_dir(out_dir, "--out")
    kinds = ["reward", "judge"] if which == "both" else [which]
    return "\n".join(train_classifier(k, out_dir, epochs=epochs)["summary"] for k in kinds)
