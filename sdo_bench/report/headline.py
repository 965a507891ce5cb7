"""The headline figure of a task: the paper's claim ("~90% less compute, equal or better reward") as the
data answers it, every title and the caption under the plots generated from the data they show.

- **Race (measured)**: each method's final reward minus the reference's (paired by seed, 95% interval)
  against its time per iteration as a ratio to the reference's (compute time, log scale, paired
  log-ratio interval), one point per method; exact methods filled, biased and approximate ones open;
  labels placed apart (adjustText). No interval from fewer than three seeds.
- **Penalty (parameter targets)**: the reward gain and the regularizer's penalty kept apart: each
  method's final penalty (what it paid in drift from the base model) against its reward difference, so
  a penalty cannot hide the reward.
- **Predicted (cost model, fake tensors)**: each method's peak tensor memory of one gradient against its
  FLOPs for the first task of the cost grid at N = 50 (or the closest N predicted), with the memory of
  24, 40 and 80 GB cards as lines; titled with that task, N, dtype and batch.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .stats import MIN_SEEDS, block_ratio, interval, pair_by_seed, paired_difference  # noqa: E402

GiB = 2**30
CARDS_GB = (24, 40, 80)
PAPER_N = 50
MARKERS = {"exact": "o", "biased": "s", "approximate": "D"}
CLOCKS = {"process_cpu": "CPU time", "cuda_events": "CUDA time"}


def race_points(df: pd.DataFrame, task: str, reference: str = "bptt") -> pd.DataFrame:
    """One row per variant of ``task``: its time ratio to ``reference`` and its final reward's and
    objective's differences to it (paired by seed, each with its interval), its final penalty (mean and
    interval) and kind."""
    d = df[(df.task == task) & (df.status == "ok")]
    rows = []
    for variant, g in d.groupby("variant", sort=False):
        t, t_lo, t_hi, n, _ = block_ratio(d, (task, variant), (task, reference), "time_per_iter_s")
        r, r_lo, r_hi, _ = paired_difference(
            *pair_by_seed(d, (task, variant), (task, reference), "reward_final")
        )
        p, p_lo, p_hi = interval(g.penalty_final) if "penalty_final" in g else (math.nan,) * 3
        kind = g.kind.iloc[0] if "kind" in g else "approximate"
        rows.append(dict(variant=variant, kind=kind, seeds=n, t=t, t_lo=t_lo, t_hi=t_hi, r=r, r_lo=r_lo,
                         r_hi=r_hi, p=p, p_lo=p_lo, p_hi=p_hi))  # fmt: skip
    return pd.DataFrame(rows)


def paper_points(costs: pd.DataFrame | None, at: int = PAPER_N) -> tuple[pd.DataFrame, str]:
    """The cost rows of the first cost task at N = ``at`` (or the closest N), and what they show."""
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


def _err(m, lo, hi):
    return None if lo != lo else [[m - lo], [hi - m]]


def _place(ax, texts) -> None:
    """Labels apart from each other and the points (adjustText where installed)."""
    try:
        from adjustText import adjust_text
    except ImportError:  # pragma: no cover - a dependency; the labels then stay where they were put
        return
    adjust_text(texts, ax=ax, expand=(1.2, 1.4), arrowprops=dict(arrowstyle="-", color="grey", lw=0.5))


def titles(df: pd.DataFrame, task: str, costs: pd.DataFrame | None, reference: str = "bptt") -> dict:
    """Each panel's title and the caption, from the data they show."""
    d = df[(df.task == task) & (df.status == "ok")]
    n_steps = int(d.steps.iloc[0]) if len(d) else 0
    seeds = int(d.groupby("variant").seed.nunique().max()) if len(d) else 0
    dtype = str(d.dtype.iloc[0]) if "dtype" in d and len(d) else "?"
    batch = int(d.batch.iloc[0]) if "batch" in d and len(d) else 0
    clock = CLOCKS.get(str(d.time_clock.iloc[0]) if "time_clock" in d and len(d) else "", "wall-clock time")
    intervals = (
        "95% intervals" if seeds >= MIN_SEEDS else f"no intervals ({seeds} seeds; they need {MIN_SEEDS})"
    )
    cost, shown = paper_points(costs)
    scale = "" if cost.empty or str(cost.task.iloc[0]).startswith("tiny") else "paper scale, "
    return {
        "race": f"{task} (N = {n_steps}, {dtype}, batch {batch}), MEASURED\n"
        f"reward and time against {reference}",
        "penalty": f"{task}: reward against the regularizer's penalty",
        "predicted": f"{scale}PREDICTED (cost model, fake tensors)\n{shown}" if shown else "",
        "caption": (
            f"Measured: {seeds} seeds paired with {reference}'s, {intervals}; time is {clock} per iteration "
            f"(each run's fastest of equal work) as a ratio to {reference}'s (log scale); filled markers are "
            "exact methods. "
            + (f"Predicted: {shown}, no weights, before CUDA's own overhead." if shown else "")
        ),
    }


def headline(
    df: pd.DataFrame, costs: pd.DataFrame | None, task: str, path: Path, reference: str = "bptt"
) -> dict:
    """Draw the headline of ``task`` to ``path``; returns its titles and caption (:func:`titles`)."""
    pts = race_points(df, task, reference)
    text = titles(df, task, costs, reference)
    target = df[df.task == task].target.iloc[0] if "target" in df and (df.task == task).any() else "latent"
    with_penalty = target != "latent" and not pts.empty and bool((pts.p.abs() > 0).any())
    panels = 3 if with_penalty else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.6 * panels, 5.0))
    ax, bx = axes[0], axes[-1]
    cmap = plt.get_cmap("tab10")
    colors = {v: cmap(i % 10) for i, v in enumerate(dict.fromkeys(df[df.task == task].variant))}
    labels = []
    for r in pts.itertuples():
        c = colors[r.variant]
        face = c if r.kind == "exact" else "white"
        ax.errorbar(r.t, r.r, xerr=_err(r.t, r.t_lo, r.t_hi), yerr=_err(r.r, r.r_lo, r.r_hi),
                    fmt=MARKERS.get(r.kind, "D"), color=c, mfc=face, ms=7, capsize=3, lw=1.2)  # fmt: skip
        labels.append(ax.text(r.t, r.r, r.variant, fontsize=7, color=c))
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(1, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel(f"time per iteration / {reference}'s (log; left is cheaper)")
    ax.set_ylabel(f"final reward − {reference}'s (up is better)")
    ax.set_title(text["race"], fontsize=9)
    ax.grid(alpha=0.3, which="both")
    _place(ax, labels)

    if with_penalty:
        px, plabels = axes[1], []
        for r in pts.itertuples():
            c = colors[r.variant]
            px.errorbar(r.r, r.p, xerr=_err(r.r, r.r_lo, r.r_hi), yerr=_err(r.p, r.p_lo, r.p_hi),
                        fmt=MARKERS.get(r.kind, "D"), color=c, mfc=c if r.kind == "exact" else "white",
                        ms=7, capsize=3, lw=1.2)  # fmt: skip
            plabels.append(px.text(r.r, r.p, r.variant, fontsize=7, color=c))
        px.set_xlabel(f"final reward − {reference}'s")
        px.set_ylabel("final penalty (weighted regularizer; lower is less drift)")
        px.set_title(text["penalty"], fontsize=9)
        px.grid(alpha=0.3)
        _place(px, plabels)

    cost, _ = paper_points(costs)
    if cost.empty:
        bx.text(0.5, 0.5, "no cost grid in this config", ha="center", va="center", transform=bx.transAxes)
        bx.set_axis_off()
    else:
        blabels = []
        for (flops, peak), g in cost.groupby(["flops_total", "peak_tensor_bytes"], sort=False):
            names = list(dict.fromkeys(g.variant))
            c = colors.get(names[0], "black")
            exact = bool(g.method.isin(["bptt", "checkpoint"]).any())
            bx.scatter(flops, peak / GiB, s=40, color=c, facecolors=c if exact else "white", edgecolors=c,
                       zorder=3)  # fmt: skip
            blabels.append(bx.text(flops, peak / GiB, " = ".join(names), fontsize=7, color=c))
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
        bx.set_title(text["predicted"], fontsize=9)
        bx.grid(alpha=0.3, which="both")
        _place(bx, blabels)
    fig.text(0.01, 0.01, text["caption"], fontsize=7, ha="left", va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return text
