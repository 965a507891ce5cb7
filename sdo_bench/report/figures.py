"""Figures of docs/design.md §9, matplotlib, one function per kind."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

MiB = 2**20


def write_all(df: pd.DataFrame, sweeps: pd.DataFrame, out: Path, costs: pd.DataFrame | None = None) -> None:
    """Every figure of docs/design.md §9 for the tasks in the records (``df``) and sweeps (``sweeps``);
    ``costs``: the cost model's rows, for the headline's paper-scale panel."""
    from ..spec.outputs import PER_SWEPT_TASK, PER_TASK, figure_name
    from .headline import headline

    def _headline(frame, task, path):
        headline(frame, costs, task, path)

    per_task = dict(zip(PER_TASK, (_headline, _reward_vs_iter, _reward_vs_time, samples), strict=True))
    per_swept_task = dict(zip(PER_SWEPT_TASK, (scaling, fidelity), strict=True))
    for frame, draw in ((df, per_task), (sweeps, per_swept_task)):
        for task in dict.fromkeys(frame.task) if not frame.empty else []:
            for kind, fn in draw.items():
                fn(frame, task, out / figure_name(kind, task))


def _reward_vs_iter(df, task, path):
    reward_curves(df, task, "iter", path)


def _reward_vs_time(df, task, path):
    reward_curves(df, task, "time", path)


def _colors(variants):
    cmap = plt.get_cmap("tab10")
    return {v: cmap(i % 10) for i, v in enumerate(variants)}


def _curves(g: pd.DataFrame, x: str):
    """Mean and 95% band (t-interval over seeds, :func:`.stats.band`) of the reward curves, on a common
    length."""
    from .stats import band

    ys = [np.asarray(c, float) for c in g.reward_curve if len(c)]
    if not ys:
        return None
    n = min(len(y) for y in ys)
    Y = np.stack([y[:n] for y in ys])
    if x == "iter":
        X = np.arange(n)
    else:
        X = np.mean(np.stack([np.asarray(e, float)[:n] for e in g.elapsed_s if len(e) >= n]), axis=0)
    return (X, *band(Y))


KINDS = ("exact", "biased", "approximate")


def same_algorithm(d: pd.DataFrame) -> dict[str, list[str]]:
    """Variants of one task grouped by the algorithm they compute by construction (records'
    ``algorithm``), in order of appearance: identical results are drawn once, named by all of them."""
    groups: dict[str, list[str]] = {}
    for variant, g in d.groupby("variant", sort=False):
        key = g.algorithm.iloc[0] if "algorithm" in g else variant
        groups.setdefault(key, []).append(variant)
    return groups


def reward_curves(df: pd.DataFrame, task: str, x: str, path: Path) -> None:
    """Small multiples, one panel per kind of gradient (exact / biased / approximate), so that no curve
    hides another; variants that are one algorithm on this task are one curve named by all of them."""
    d = df[(df.task == task) & (df.status == "ok")]
    kinds = [k for k in KINDS if (d.kind == k).any()] if "kind" in d else []
    kinds = kinds or ["approximate"]
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.4 * len(kinds), 4.0), sharey=True, squeeze=False)
    colors = _colors(list(dict.fromkeys(df[df.task == task].variant)))
    for ax, kind in zip(axes[0], kinds):
        dk = d[d.kind == kind] if "kind" in d else d
        for variants in same_algorithm(dk).values():
            g = dk[dk.variant == variants[0]]
            c = _curves(g, x)
            if c is None:
                continue
            X, mean, lo, hi = c
            name = " = ".join(variants)
            ax.plot(X, mean, label=f"{name} ({len(g)} seeds)", color=colors[variants[0]], lw=1.6)
            ax.fill_between(X, lo, hi, color=colors[variants[0]], alpha=0.15, lw=0)
        ax.set_title(f"{kind} gradients", fontsize=9)
        ax.set_xlabel("iteration" if x == "iter" else "wall-clock time (s)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    axes[0][0].set_ylabel("mean reward of the batch")
    fig.suptitle(
        f"{task}: reward against {'iterations' if x == 'iter' else 'time'} "
        "(line: mean over seeds; band: 95% t-interval)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def scaling(sweep: pd.DataFrame, task: str, path: Path) -> None:
    d = sweep[(sweep.task == task) & (sweep.status == "ok")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    colors = _colors(list(dict.fromkeys(sweep[sweep.task == task].variant)))
    for variant, g in d.groupby("variant", sort=False):
        g = g.sort_values("steps")
        kw = dict(marker="o", label=variant, color=colors[variant], lw=1.4, ms=4)
        axes[0].plot(g.steps, g.time_per_iter_s, **kw)
        axes[1].plot(g.steps, g.peak_tensor_bytes / MiB, **kw)
        axes[2].plot(g.steps, g.graph_bytes / MiB, **kw)
    for ax, ylabel, title in zip(
        axes,
        ["time per iteration (s)", "peak tensor memory (MiB)", "graph bytes (MiB)"],
        [
            "time",
            "peak tensor memory (live tensor bytes: weights,\nactivations, gradients, optimizer state)",
            "bytes saved for backward",
        ],
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sampling steps N")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, which="both")
    for ax in axes:
        _steps_axis(ax, sorted(set(d.steps)))
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{task}: cost against the number of sampling steps (log-log)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _steps_axis(ax, steps) -> None:
    """Log x axis labelled with the swept N themselves (10, 20, 50 …), not 2×10¹."""
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    if steps:
        ax.xaxis.set_major_locator(FixedLocator(steps))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())


def fidelity(sweep: pd.DataFrame, task: str, path: Path) -> None:
    d = sweep[(sweep.task == task) & (sweep.status == "ok")]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    colors = _colors(list(dict.fromkeys(sweep[sweep.task == task].variant)))
    for variant, g in d.groupby("variant", sort=False):
        g = g.sort_values("steps")
        ax.plot(g.steps, g.grad_cosine_vs_exact, marker="o", label=variant, color=colors[variant])
    ax.set_xscale("log")
    _steps_axis(ax, sorted(set(d.steps)))
    ax.set_xlabel("sampling steps N")
    ax.set_ylabel("cosine(gradient, exact bptt gradient)")
    ax.set_ylim(min(-0.05, float(np.nanmin(d.grad_cosine_vs_exact)) - 0.05) if len(d) else -0.05, 1.05)
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_title(f"{task}: gradient fidelity at the initial parameters", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def samples(df: pd.DataFrame, task: str, path: Path, seed: int | None = None) -> None:
    """Images (or GMM points) before and after optimization for one seed, one row per method."""
    d = df[(df.task == task)]
    seed = int(d.seed.min()) if seed is None else seed
    d = d[d.seed == seed]
    rows = []
    for _, r in d.iterrows():
        npz = Path(r.path).with_suffix(".npz")
        if npz.exists():
            z = np.load(npz)
            drawn = z["initial"].size > 0  # none where a run stopped before its first sample
            rows.append((r.variant, r.status, *((z["initial"], z["final"]) if drawn else (None, None))))
    if not rows:
        rows = [("(no samples)", "", None, None)]
    first = next((a for _, _, a, _ in rows if a is not None), None)
    points = first is not None and first.ndim == 4 and first.shape[-1] == 1 and first.shape[-2] == 1
    if points:
        fig, axes = plt.subplots(1, len(rows), figsize=(3 * len(rows), 3.2), squeeze=False)
        for ax, (variant, status, a, b) in zip(axes[0], rows):
            ax.set_title(f"{variant}" + ("" if status == "ok" else f" ({status})"), fontsize=8)
            if a is None:
                continue
            ax.scatter(a[:, 0, 0, 0], a[:, 1, 0, 0], s=12, alpha=0.6, label="before")
            if not np.isnan(b).all():
                ax.scatter(b[:, 0, 0, 0], b[:, 1, 0, 0], s=12, alpha=0.8, label="after")
            ax.set_xlabel("x₁")
            ax.set_ylabel("x₂")
            ax.set_aspect("equal", "datalim")
        axes[0][0].legend(fontsize=7)
    else:
        fig, axes = plt.subplots(len(rows), 2, figsize=(9, 0.62 * len(rows) + 0.9), squeeze=False)
        for i, (row, (variant, status, a, b)) in enumerate(zip(axes, rows)):
            for ax, imgs, when in zip(row, (a, b), ("before", "after")):
                ax.set_xticks([])
                ax.set_yticks([])
                if imgs is None or np.isnan(imgs).all():
                    ax.text(0.5, 0.5, status or "–", ha="center", va="center", fontsize=8)
                    continue
                ax.imshow(_strip(imgs), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                if i == 0:
                    ax.set_title(when, fontsize=9)
            row[0].set_ylabel(
                variant + ("" if status == "ok" else f"\n({status})"),
                fontsize=7,
                rotation=0,
                ha="right",
                va="center",
            )
    fig.suptitle(f"{task}: samples of seed {seed} before and after optimization", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _strip(imgs: np.ndarray) -> np.ndarray:
    """(B, C, H, W) in [0, 1] -> one row image: (H, B*(W+1)) gray for C = 1, (H, B*(W+1), 3) for RGB."""
    b, c, h, w = imgs.shape
    tiles = imgs[:, 0] if c == 1 else np.clip(imgs[:, :3].transpose(0, 2, 3, 1), 0, 1)
    pad = np.full((h, 1) + tiles.shape[3:], 0.5)
    return np.concatenate([np.concatenate([t, pad], axis=1) for t in tiles], axis=1)
