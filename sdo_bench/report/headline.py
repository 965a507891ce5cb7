"""The headline figure of a task: what the paper claims ("~90% less compute, equal or better reward")
on one page.

Left, measured: each method's final objective (mean over seeds, 95% interval, :mod:`.stats`) against
its time per iteration (mean over seeds, 95% interval), one point per method; exact methods filled,
biased and approximate ones open. Right, *predicted* by the cost model (:mod:`sdo_bench.cost`): each
method's peak tensor memory of one gradient against its FLOPs for the paper-scale task of the cost grid
(SD1.5 in the default) at N = 50 (or the closest N predicted), with the memory of 24, 40 and 80 GB
cards as lines.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .stats import interval  # noqa: E402

GiB = 2**30
CARDS_GB = (24, 40, 80)
PAPER_N = 50
MARKERS = {"exact": "o", "biased": "s", "approximate": "D"}


def race_points(df: pd.DataFrame, task: str) -> pd.DataFrame:
    """One row per variant of ``task``: time per iteration and final objective, each a mean with its
    95% interval over the seeds, and the variant's kind."""
    d = df[(df.task == task) & (df.status == "ok")]
    rows = []
    for variant, g in d.groupby("variant", sort=False):
        t, t_lo, t_hi = interval(g.time_per_iter_s)
        j, j_lo, j_hi = interval(g.objective_final)
        kind = g.kind.iloc[0] if "kind" in g else "approximate"
        rows.append(
            dict(
                variant=variant, kind=kind, seeds=len(g), t=t, t_lo=t_lo, t_hi=t_hi, j=j, j_lo=j_lo, j_hi=j_hi
            )
        )
    return pd.DataFrame(rows)


def paper_points(costs: pd.DataFrame | None, at: int = PAPER_N) -> tuple[pd.DataFrame, str]:
    """The cost rows of the first cost task at N = ``at`` (or the closest N), and a title for them."""
    if costs is None or costs.empty:
        return pd.DataFrame(), ""
    ok = costs[costs.status == "ok"]
    if ok.empty:
        return pd.DataFrame(), ""
    task = ok.task.iloc[0]
    g = ok[ok.task == task]
    n = min(set(g.steps), key=lambda s: (abs(s - at), s))
    g = g[g.steps == n]
    dtype = g.dtype.iloc[0]
    g = g[g.dtype == dtype]
    return g, f"{task}, N = {n}, {dtype}, batch {int(g.batch.iloc[0])}"


def headline(df: pd.DataFrame, costs: pd.DataFrame | None, task: str, path: Path) -> None:
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 4.6))
    pts = race_points(df, task)
    cmap = plt.get_cmap("tab10")
    colors = {v: cmap(i % 10) for i, v in enumerate(dict.fromkeys(df[df.task == task].variant))}
    for r in pts.itertuples():
        c = colors[r.variant]
        xerr = None if r.t_lo != r.t_lo else [[r.t - r.t_lo], [r.t_hi - r.t]]
        yerr = None if r.j_lo != r.j_lo else [[r.j - r.j_lo], [r.j_hi - r.j]]
        face = c if r.kind == "exact" else "white"
        ax.errorbar(r.t, r.j, xerr=xerr, yerr=yerr, fmt=MARKERS.get(r.kind, "D"), color=c, mfc=face,
                    ms=7, capsize=3, lw=1.2, label=f"{r.variant} ({r.kind})")  # fmt: skip
        ax.annotate(r.variant, (r.t, r.j), xytext=(5, 4), textcoords="offset points", fontsize=7, color=c)
    ax.set_xscale("log")
    ax.set_xlabel("time per iteration (s, measured; log)")
    ax.set_ylabel("final objective (reward − penalty)")
    seeds = int(pts.seeds.max()) if not pts.empty else 0
    ax.set_title(
        f"{task}: final objective against cost\n(mean of {seeds} seeds, 95% intervals; filled: exact)",
        fontsize=9,
    )
    ax.grid(alpha=0.3, which="both")
    if not pts.empty:
        ax.legend(fontsize=6, loc="best")

    cost, title = paper_points(costs)
    if cost.empty:
        bx.text(0.5, 0.5, "no cost grid in this config", ha="center", va="center", transform=bx.transAxes)
        bx.set_axis_off()
    else:
        # variants with the same predicted cost are one point, named by all of them; labels of points
        # within 5% of each other (adjoint beside checkpoint) are stacked instead of printed over
        placed: list[tuple[float, float]] = []
        for (flops, peak), g in cost.groupby(["flops_total", "peak_tensor_bytes"], sort=False):
            near = sum(abs(math.log(flops / f)) < 0.05 and abs(math.log(peak / p)) < 0.05 for f, p in placed)
            placed.append((flops, peak))
            names = list(dict.fromkeys(g.variant))
            c = colors.get(names[0], "black")
            exact = bool(g.method.isin(["bptt", "checkpoint"]).any())
            bx.scatter(flops, peak / GiB, s=40, color=c, facecolors=c if exact else "white", edgecolors=c,
                       zorder=3)  # fmt: skip
            bx.annotate(" = ".join(names), (flops, peak / GiB), xytext=(5, 4 - 9 * near),
                        textcoords="offset points", fontsize=7, color=c)  # fmt: skip
        failed = (
            costs[(costs.status != "ok") & (costs.task == cost.task.iloc[0])] if costs is not None else []
        )
        if len(failed):
            bx.text(0.01, 0.01, "not predicted: " + ", ".join(failed.variant), transform=bx.transAxes,
                    fontsize=7, color="grey", va="bottom")  # fmt: skip
        for gb in CARDS_GB:
            bx.axhline(gb * 1e9 / GiB, color="grey", ls=":", lw=1)
            bx.text(0.99, gb * 1e9 / GiB, f"{gb} GB card", transform=bx.get_yaxis_transform(),
                    ha="right", va="bottom", fontsize=7, color="grey")  # fmt: skip
        bx.set_xscale("log")
        bx.set_yscale("log")
        bx.set_xlabel("FLOPs of one gradient (forward + backward, predicted)")
        bx.set_ylabel("peak tensor memory (GiB, predicted)")
        bx.set_title(f"paper scale, PREDICTED (cost model, fake tensors)\n{title}", fontsize=9)
        bx.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
