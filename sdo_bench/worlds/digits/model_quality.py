"""Quality of the trained digits model, as the judge sees it: class-conditional accuracy, FID against the
held-out split next to the floor (held-out against train), and a sample grid (one row per class).

Also the judge against the reward hack it must not believe (:func:`judge_vs_hacks`): its p(3) on real
held-out "3"s, and on the final samples of ``digits-latent`` optimized towards "3" by exact ``bptt``
without a prior, from seeds no training saw."""

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


def judge_vs_hacks(weights_dir: Path, seeds=(100, 101, 102), target_digit: int = 3) -> dict:
    """The judge's p(target) and p(a digit) on real held-out images of the target and on reward hacks:
    ``digits-latent`` (N = 20, 10 iterations, lr 0.1, batch 8, prior none), optimized by ``bptt``.
    "Hacked" are the final samples rougher than any real digit (total variation above 1.5 times the
    largest of the training digits'), the rest are reported apart."""
    from ... import experiment, tasks
    from ...data.not_a_digit import NOT_A_DIGIT, total_variation
    from ...methods import Variant

    judge = _judge(str(weights_dir))
    split = load_split()

    def scores(images):
        with torch.no_grad():
            p = F.softmax(judge(images), -1)
        return {
            "n": len(images),
            "judge_target_prob": float(p[:, target_digit].mean()) if len(images) else None,
            "judge_real_prob": float((1 - p[:, NOT_A_DIGIT]).mean()) if len(images) else None,
        }

    finals = []
    for seed in seeds:
        task = tasks.build(
            "digits-latent", steps=20, iterations=10, lr=0.1, seed=seed, prior="none", judge=False,
            weights_dir=str(weights_dir), target_digit=target_digit,
        )  # fmt: skip
        experiment.run(task, Variant("bptt"), fidelity=False, progress=False)
        finals.append(task.sample())
    finals = torch.cat(finals)
    rough = total_variation(finals) > 1.5 * float(total_variation(to_unit(split.train_x)).max())
    held = to_unit(split.held_x[split.held_y == target_digit])
    return {
        "target_digit": target_digit,
        "hack": "digits-latent, bptt, N=20, 10 iterations, lr 0.1, prior none, seeds " + str(list(seeds)),
        "real_held_out": scores(held),
        "hacked": scores(finals[rough]),
        "hack_samples_not_rough": scores(finals[~rough]),
    }


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
    load_unet(weights_dir / "unet")  # missing weights: a clear error before anything is written
    load_classifier("reward", weights_dir), load_classifier("judge", weights_dir)
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
        "judge_vs_reward_hacks": judge_vs_hacks(weights_dir),
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
