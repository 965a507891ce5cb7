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

from .classifier import accuracy, load_classifier
from .data import load_split, to_unit
from .judge import _judge, fid_kid
from .model import MODEL_DIRS, DigitsDenoiser, load_unet, sampler


@torch.no_grad()
def class_conditional_samples(
    weights_dir: Path,
    labels: torch.Tensor,
    *,
    steps: int = 50,
    guidance_scale: float = 2.0,
    seed: int = 0,
    batch: int = 100,
    objective: str = "epsilon",
):
    from .model import NULL_CLASS

    denoiser = DigitsDenoiser(load_unet(Path(weights_dir) / MODEL_DIRS[objective])).eval()
    chain = sampler(objective, steps)
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
            e = denoiser(torch.cat([x, x]), chain.timesteps[k], torch.cat([u, c]))
            e_u, e_c = e.chunk(2)
            x = chain.step(k, x, e_u + guidance_scale * (e_c - e_u))
        out.append(to_unit(x))
    return torch.cat(out)


def save_grid(images01: torch.Tensor, path: Path, nrow: int, scale: int = 4) -> None:
    from torchvision.utils import save_image

    up = F.interpolate(images01, scale_factor=scale, mode="nearest")
    save_image(up, path, nrow=nrow, padding=2, pad_value=0.5)


def hack(task, iterations: int) -> None:
    """Exact gradient ascent on the task's reward, backpropagated through every sampling step (what
    ``bptt`` computes), with the task's own optimizer: the reward hack the judge must not believe. The
    family's own loop, so that the family needs no runner."""
    optimizer = task.make_optimizer()
    for _ in range(iterations):
        x = task.x_T()
        for k in range(task.steps):
            x = task.sampler.step(k, x, task.eps(x, k))
        (-task.reward_per_sample(x).mean()).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)


def judge_vs_hacks(
    weights_dir: Path, seeds=(100, 101, 102), target_digit: int = 3, objective="epsilon"
) -> dict:
    """The judge's p(target) and p(a digit) on real held-out images of the target and on reward hacks:
    ``digits-latent`` (N = 20, 10 iterations, lr 0.1, batch 8, prior none), optimized by exact gradient
    ascent (:func:`hack`). "Hacked" are the final samples rougher than any real digit (total variation
    above 1.5 times the largest of the training digits'), the rest are reported apart."""
    from ..registry import build
    from .not_a_digit import NOT_A_DIGIT, total_variation

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
        name = "digits-flow-latent" if objective == "flow" else "digits-latent"
        task = build(
            name, steps=20, iterations=10, lr=0.1, seed=seed, prior="none", judge=False,
            weights_dir=str(weights_dir), target_digit=target_digit,
        )  # fmt: skip
        hack(task, task.iterations)
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
    out: str | Path,
    grid_out: str | Path | None = None,
    *,
    n: int = 500,
    steps: int = 50,
    guidance_scale: float = 2.0,
    seed: int = 0,
    objective: str = "epsilon",
) -> dict:
    """The quality of the model trained with ``objective`` (``out``, JSON) and, with ``grid_out``, a
    grid of class-conditional samples, one row per class (PNG)."""
    from ...records.io import check_writable, write_atomic

    weights_dir = Path(weights_dir)
    load_unet(
        weights_dir / MODEL_DIRS[objective]
    )  # missing weights: a clear error before anything is written
    load_classifier("reward", weights_dir), load_classifier("judge", weights_dir)
    for path in filter(None, [out, grid_out]):
        check_writable(path)
    split = load_split()
    labels = torch.arange(n) % 10
    kw = dict(steps=steps, guidance_scale=guidance_scale, objective=objective)
    samples = class_conditional_samples(weights_dir, labels, seed=seed, **kw)
    judge = _judge(str(weights_dir))
    with torch.no_grad():
        judged = judge(samples).argmax(-1)
    held, train = to_unit(split.held_x), to_unit(split.train_x)
    result = {
        "objective": objective,
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
        "judge_vs_reward_hacks": judge_vs_hacks(weights_dir, objective=objective),
    }
    if grid_out is not None:
        grid_labels = torch.arange(10).repeat_interleave(10)
        grid = class_conditional_samples(weights_dir, grid_labels, seed=seed + 1, **kw)
        save_grid(grid, Path(grid_out), nrow=10)
    write_atomic(out, result)
    return result


def summary(weights_dir, out, grid_out=None, n: int = 500, objective: str = "epsilon") -> str:
    """``sdo-bench evaluate-model``: :func:`evaluate` as indented JSON."""
    return json.dumps(evaluate(weights_dir, out, grid_out, n=n, objective=objective), indent=1)
