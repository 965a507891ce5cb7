"""The verdict: the answer to "does SDO reach BPTT's reward at much lower cost, here and at paper
scale?" in a paragraph a user reads in a minute (:data:`sdo_bench.spec.outputs.VERDICT`, first in the
workflow's report).

One entry per task with both methods: sdo's final objective against bptt's (paired difference, its
interval, the non-inferiority margin and the verdict; where the data cannot decide, how many seeds
would at the spread seen), its time per iteration as a ratio to bptt's (compute time, log-scale
interval), its peak tensor memory, and every other method that beats sdo there. One entry for paper
scale, from the cost model (predicted, never measured): sdo's peak memory and FLOPs against bptt's and
checkpoint's, and the cards each fits. Every number comes from :func:`.tables.claim`, the computation
the claims table shows in full.
"""

from __future__ import annotations

import pandas as pd

from ..spec.outputs import TABLES
from .stats import MIN_SEEDS, pair_by_seed, paired_difference
from .tables import _fmt_ci, claim


def _short(verdict: str) -> str:
    return verdict.split(" (")[0] if not verdict.startswith("n/a") else verdict


def _headline(c: dict) -> str:
    """The task's answer in a few words."""
    reward, cost = c["reward_verdict"], c["cost_verdict"]
    if reward.startswith("n/a") or cost.startswith("n/a"):
        return f"**cannot decide** ({c['seeds']} seeds; a verdict needs {MIN_SEEDS})"
    if reward.startswith("supported") and cost == "supported":
        return "**yes**: as good a reward at ~90% less time or better"
    if reward.startswith("supported"):
        return f"**reward yes, cost {cost}**"
    if reward.startswith("not shown"):
        return "**cannot decide the reward** (the interval straddles the margin)"
    return "**no**: a worse reward than bptt's beyond the margin"


def _beats(ok: pd.DataFrame, task: str, method: str, reference: str) -> list[str]:
    """Every other variant whose final objective beats ``method``'s on ``task`` (paired interval above
    0; none can be named from fewer than three seeds)."""
    out = []
    for other in dict.fromkeys(ok[ok.task == task].variant):
        if other in (method,):
            continue
        m, lo, _, n = paired_difference(*pair_by_seed(ok, (task, other), (task, method), "objective_final"))
        if n >= MIN_SEEDS and lo > 0:
            out.append(f"`{other}` (+{m:.3g})")
    return out


def task_entries(df: pd.DataFrame, reference: str, method: str, margin: float) -> list[str]:
    ok = df[df.status == "ok"]
    lines = []
    for task in dict.fromkeys(df.task):
        variants = set(ok[ok.task == task].variant)
        if reference not in variants or method not in variants:
            continue
        c = claim(ok, (task, method), (task, reference), margin)
        g = ok[ok.task == task]
        n_steps = int(g.steps.iloc[0])
        start = int(g.start_step.iloc[0]) if "start_step" in g else 0
        clock = g.time_clock.iloc[0] if "time_clock" in g else "wall"
        clock = {"process_cpu": "CPU time", "cuda_events": "CUDA time"}.get(clock, "wall-clock time")
        regime = f", from step {start}" if start else ""
        margin_text = "–" if c["margin"] != c["margin"] else f"{c['margin']:.3g}"
        diff = _fmt_ci(*c["objective_difference"])
        reward = f"sdo's final objective minus bptt's is {diff} (margin {margin_text})"
        if not c["reward_verdict"].startswith("n/a"):
            reward += f": {_short(c['reward_verdict'])}"
        if c["seeds_needed"] and not c["reward_verdict"].startswith("supported"):
            reward += f"; about {c['seeds_needed']} seeds would decide it at the spread seen"
        time = f"time per iteration {_fmt_ci(*c['time_ratio'], ratio=True)} of bptt's ({clock})"
        peak = "" if c["peak_ratio"] != c["peak_ratio"] else f", peak tensor memory {c['peak_ratio']:.2f}x"
        beats = _beats(ok, task, method, reference)
        also = f" Beat sdo here: {', '.join(beats)}." if beats else ""
        lines.append(
            f"- **{task}** (N = {n_steps}{regime}, {c['seeds']} seeds) — {_headline(c)}. {reward}; "
            f"{time}{peak}.{also}"
        )
    return lines


def paper_entries(cost_rows: pd.DataFrame, method: str = "sdo", at: int = 50) -> list[str]:
    """Per cost task and dtype, at N = ``at`` (or the closest predicted): sdo's predicted peak and FLOPs
    as ratios to bptt's and checkpoint's, and the cards each of the three fits."""
    if cost_rows is None or cost_rows.empty:
        return []
    from .cost import at_closest_n

    lines = []
    for task, dtype, n, g, m in at_closest_n(cost_rows[cost_rows.status == "ok"], method, at):
        batch = int(m.batch) if "batch" in g and m.batch == m.batch else 1
        parts = []
        for ref in ("bptt", "checkpoint"):
            if ref in g.index:
                r = g.loc[ref]
                parts.append(
                    f"{m.peak_tensor_bytes / r.peak_tensor_bytes:.2f}x {ref}'s peak memory and "
                    f"{m.flops_total / r.flops_total:.2f}x its FLOPs"
                )
        fits = []
        for v in (method, "checkpoint", "bptt"):
            if v in g.index:
                cards = [c[5:] for c in g.columns if c.startswith("fits ") and bool(g.loc[v, c]) is True]
                fits.append(f"{v} fits {', '.join(cards) or 'none of the listed cards'}")
        lines.append(
            f"- **{task}** at N = {n}, {dtype}, batch {batch} (**predicted** on fake tensors): sdo needs "
            + "; ".join(parts)
            + f" ({m.peak_tensor_bytes / 2**30:.1f} GiB). "
            + "; ".join(fits)
            + "."
        )
    return lines


def verdict(
    df: pd.DataFrame,
    cost_rows: pd.DataFrame | None = None,
    reference: str = "bptt",
    method: str = "sdo",
    margin: float = 0.1,
    commit: str = "",
) -> str:
    """The verdict's Markdown."""
    tasks = task_entries(df, reference, method, margin)
    paper = paper_entries(cost_rows) if cost_rows is not None else []
    seeds = sorted({int(n) for n in df[df.status == "ok"].groupby(["task", "variant"]).seed.nunique()})
    lines = [
        "# Verdict",
        "",
        f"Does `{method}` (keep the graph of one sampling step) reach `{reference}`'s reward (full "
        "backpropagation) at much lower cost? Per task, measured on this run's machine, paired by seed "
        f"(95% intervals; none from fewer than {MIN_SEEDS} seeds); the reward is the final objective "
        f"(reward minus the prior's or regularizer's penalty), non-inferior when it loses at most "
        f"{100 * margin:g}% of {reference}'s own gain; the time is compute time (each run's fastest "
        f"iteration of equal work), a ratio to {reference}'s.",
        "",
        *(tasks or [f"- No task ran both `{method}` and `{reference}`."]),
    ]
    if seeds and max(seeds) < MIN_SEEDS:
        lines += ["", f"This run has {max(seeds)} seed(s) per method: no verdict is drawn below {MIN_SEEDS}."]
    lines += ["", "## Predicted by the cost model (fake tensors: not measured)", ""]
    lines += paper or ["- This run's config has no cost grid (`cost.tasks`)."]
    lines += [
        "",
        f"Every figure in full: the claims table (`{TABLES['claims']}`) and the main table "
        f"(`{TABLES['md']}`) in the tables folder.",
    ]
    if commit:
        lines += ["", f"Generated from commit {commit}."]
    return "\n".join(lines) + "\n"
