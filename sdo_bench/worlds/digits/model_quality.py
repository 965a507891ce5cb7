"""Quality of the trained digits model, as the judge sees it: class-conditional accuracy, FID against the
held-out split next to the floor (held-out against train), and a sample grid (one row per class)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F

from ...data.digits import load_split, to_unit
from ...models.digits import DigitsDenoiser, ddim_scheduler, load_unet
from ...rewards.digit_classifier import accuracy, load_classifier
from ...sampling import DDIMSampler
from .judge import _judge, fid_kid


@torch.no_grad()
def class_conditional_samples(
    weights_dir: Path,
    labels: torch.Tensor,
    *,
    steps: int = 50,
    guidance_scale: float = 2.0,
    seed: int = 0,
    batch: int = 100,
):
    from ...models.digits import NULL_CLASS

    denoiser = DigitsDenoiser(load_unet(Path(weights_dir) / "unet")).eval()
    sampler = DDIMSampler(ddim_scheduler(), steps)
    size = denoiser.unet.config.sample_size
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(labels), batch):
        y = labels[i : i + batch]
        n = len(y)
        x = torch.randn(n, 1, size, size, generator=g)
        c = denoiser.embed(y)
        u = denoiser.embed(torch.full_like(y, NULL_CLASS))
        for k in range(steps):
            e = denoiser(torch.cat([x, x]), sampler.timesteps[k], torch.cat([u, c]))
            e_u, e_c = e.chunk(2)
            x = sampler.step(k, x, e_u + guidance_scale * (e_c - e_u))
        out.append(to_unit(x))
    return torch.cat(out)


def save_grid(images01: torch.Tensor, path: Path, nrow: int, scale: int = 4) -> None:
    from torchvision.utils import save_image

    up = F.interpolate(images01, scale_factor=scale, mode="nearest")
    save_image(up, path, nrow=nrow, padding=2, pad_value=0.5)


def evaluate(
    weights_dir: str | Path,
    out_dir: str | Path,
    *,
    n: int = 500,
    steps: int = 50,
    guidance_scale: float = 2.0,
    seed: int = 0,
) -> dict:
    weights_dir, out_dir = Path(weights_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    split = load_split()
    labels = torch.arange(n) % 10
    samples = class_conditional_samples(
        weights_dir, labels, steps=steps, guidance_scale=guidance_scale, seed=seed
    )
    judge = _judge(str(weights_dir))
    with torch.no_grad():
        judged = judge(samples).argmax(-1)
    held, train = to_unit(split.held_x), to_unit(split.train_x)
    result = {
        "n_samples": n,
        "steps": steps,
        "guidance_scale": guidance_scale,
        "reward_classifier_held_out_accuracy": accuracy(
            load_classifier("reward", weights_dir), split.held_x, split.held_y
        ),
        "judge_held_out_accuracy": accuracy(judge, split.held_x, split.held_y),
        "samples_judged_as_their_class": float((judged == labels).float().mean()),
        "per_class_judged_accuracy": [float((judged[labels == c] == c).float().mean()) for c in range(10)],
        "samples_vs_held_out": fid_kid(samples, held, weights_dir),
        "floor_held_out_vs_train": fid_kid(held, train, weights_dir),
    }
    grid_labels = torch.arange(10).repeat_interleave(10)
    grid = class_conditional_samples(
        weights_dir, grid_labels, steps=steps, guidance_scale=guidance_scale, seed=seed + 1
    )
    save_grid(grid, out_dir / "digits_samples.png", nrow=10)
    (out_dir / "model_quality.json").write_text(json.dumps(result, indent=1))
    return result


def summary(weights_dir, out_dir, n: int = 500) -> str:
    """``sdo-bench evaluate-model``: :func:`evaluate` as indented JSON."""
    return json.dumps(evaluate(weights_dir, out_dir, n=n), indent=1)
