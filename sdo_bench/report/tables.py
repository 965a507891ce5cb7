"""The main table (CSV, Markdown, LaTeX) and the claims table (docs/design.md §9), plus HTML copies of both.

Speed-up and memory ratios against the reference method (``bptt``) are taken between runs of the same
task and seed, then averaged over seeds. ``cost_in_samples`` is a run's time per iteration over the
time of one no-grad sample measured in the same process: the machine-independent figure.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..spec.outputs import TABLES
from .html import markdown_to_html
from .stats import CI_LEVEL, MIN_SEEDS, block_ratio, interval, pair_by_seed, paired_difference, seeds_needed

MiB = 2**20


def _mean_std(s: pd.Series) -> str:
    s = s.dropna()
    if s.empty:
        return "–"
    return f"{s.mean():.3f} ± {s.std(ddof=1):.3f}" if len(s) > 1 else f"{s.mean():.3f}"


def _distinct(values) -> str:
    return ", ".join(dict.fromkeys(str(v) for v in values if isinstance(v, str) and v))


def distinct_commits(df: pd.DataFrame) -> str:
    """The commits (12 characters) and devices the records came from, for a generated file's footnote."""
    commits = ", ".join(c[:12] for c in dict.fromkeys(df.get("git_commit", [])) if isinstance(c, str))
    devices = ", ".join(d for d in dict.fromkeys(df.get("device_name", [])) if isinstance(d, str))
    return f"{commits or 'unknown'} on {devices or 'an unknown device'}"


def provenance_line(table: pd.DataFrame) -> str:
    """The tables' footnote: the commit(s) and device(s) their records came from."""
    commits = _distinct(c for cs in table.get("git_commit", []) for c in cs.split(", "))
    devices = _distinct(d for ds in table.get("device", []) for d in ds.split(", "))
    short = ", ".join(c[:12] for c in commits.split(", ") if c)
    where = f"From commit {short or 'unknown'} on {devices or 'an unknown device'}"
    return where + " (`sdo-bench compare` sets two runs side by side)."


def main_table(df: pd.DataFrame, reference: str = "bptt") -> pd.DataFrame:
    ok = df[df.status == "ok"].copy()
    ref = ok[ok.variant == reference].set_index(["task", "seed"])

    def ratio(row, col):
        key = (row.task, row.seed)
        if key not in ref.index:
            return np.nan
        return ref.loc[key, col] / row[col] if row[col] else np.nan

    ok["speedup"] = ok.apply(lambda r: ratio(r, "time_per_iter_s"), axis=1)
    ok["mem_ratio"] = ok.apply(
        lambda r: 1 / ratio(r, "peak_tensor_bytes") if ratio(r, "peak_tensor_bytes") else np.nan, axis=1
    )
    ok["activation_ratio"] = ok.apply(
        lambda r: 1 / ratio(r, "activation_bytes") if ratio(r, "activation_bytes") else np.nan, axis=1
    )
    ok["graph_ratio"] = ok.apply(
        lambda r: 1 / ratio(r, "graph_bytes") if ratio(r, "graph_bytes") else np.nan, axis=1
    )
    ok["cost_in_samples"] = ok.time_per_iter_s / ok.time_sample_s
    rows = []
    order = list(dict.fromkeys(df.variant))
    firsts: dict[tuple, str] = {}  # (task, algorithm) -> the first variant computing it
    for (task, variant), g in df.groupby(["task", "variant"], sort=False):
        o = ok[(ok.task == task) & (ok.variant == variant)]
        statuses = g.status.value_counts().to_dict()
        algorithm = g.algorithm.iloc[0] if "algorithm" in g else variant
        same = firsts.setdefault((task, algorithm), variant)
        rows.append(
            {
                "task": task,
                "task_name": g.task_name.iloc[0] if "task_name" in g else task,
                "method": variant,
                # the same algorithm on this task by construction: the same gradients and results
                "same_as": same if same != variant else "",
                "N": int(g.steps.iloc[0]),
                "start_step": int(g.start_step.iloc[0]),
                "runs": len(g),
                "status": ", ".join(f"{k}:{v}" for k, v in sorted(statuses.items())),
                "time_per_iter_s": o.time_per_iter_s.mean(),
                "speedup_vs_ref": o.speedup.mean(),
                "cost_in_samples": o.cost_in_samples.mean(),
                "peak_tensor_MiB": o.peak_tensor_bytes.mean() / MiB,
                "activation_MiB": o.activation_bytes.mean() / MiB,
                "mem_ratio_vs_ref": o.mem_ratio.mean(),
                "activation_ratio_vs_ref": o.activation_ratio.mean(),
                "weights_MiB": o.weights_bytes.mean() / MiB,
                "optimizer_state_MiB": o.optimizer_state_bytes.mean() / MiB,
                "rss_peak_MiB": o.peak_memory_bytes.mean() / MiB,
                "rss_rise_MiB": o.peak_memory_delta_bytes.mean() / MiB,
                "graph_MiB": o.graph_bytes.mean() / MiB,
                "graph_ratio_vs_ref": o.graph_ratio.mean(),
                "nfe_fwd_bwd": (
                    f"{o.nfe_forward.iloc[0]:.0f}/{o.nfe_backward.iloc[0]:.0f}" if len(o) else "–"
                ),
                "reward_init": o.reward_init.mean(),
                "reward_final": _mean_std(o.reward_final),
                "reward_final_mean": o.reward_final.mean(),
                "reward_final_std": o.reward_final.std(ddof=1) if len(o) > 1 else np.nan,
                "objective_final": _mean_std(o.objective_final),
                "objective_final_mean": o.objective_final.mean(),
                "penalty_final": o.penalty_final.mean() if "penalty_final" in o else np.nan,
                "judge_target_prob": o.judge_target_prob.mean(),
                "judge_real_prob": o.judge_real_prob.mean(),
                "judge_fid": o.judge_fid.mean(),
                "judge_kid": o.judge_kid.mean(),
                "judge_kid_se": o.judge_kid_se.mean(),
                "grad_cosine_vs_exact": o.grad_cosine_vs_exact.mean(),
                # where the row came from (every distinct value, for a table merged from several runs)
                "git_commit": _distinct(g.git_commit if "git_commit" in g else []),
                "device": _distinct(g.device_name if "device_name" in g else []),
            }
        )
    out = pd.DataFrame(rows)
    out["_o"] = out.method.map({v: i for i, v in enumerate(order)})
    return out.sort_values(["task", "_o"]).drop(columns="_o").reset_index(drop=True)


def bootstrap_ci(values, seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` (one per seed) and its 95% interval (:func:`.stats.interval`)."""
    return interval(values, seed)


def _fmt_ci(m, lo, hi, pct: bool = False, ratio: bool = False) -> str:
    if ratio:
        f = lambda v: f"{v:.3f}x"  # noqa: E731
    else:
        f = (lambda v: f"{100 * v:.1f}%") if pct else (lambda v: f"{v:+.3f}")
    if m != m:
        return "–"
    return f(m) if lo != lo else f"{f(m)} [{f(lo)}, {f(hi)}]"


def _full_chain(table: pd.DataFrame, row) -> str | None:
    """The task label whose runs are the full chain of ``row``'s authors'-regime entry: the same task,
    all N = start_step + steps steps from x_T."""
    full = table[
        (table.task_name == row.task_name) & (table.start_step == 0) & (table.N == row.N + row.start_step)
    ]
    return None if full.empty else full.task.iloc[0]


#: the reduction in time the paper's "about 90% less compute" is read as: at least this much
CLAIMED_REDUCTION = 0.85


#: the default non-inferiority margin: a fraction of the reference's own gain in the objective
REWARD_MARGIN = 0.1


def claim(ok: pd.DataFrame, a: tuple, b: tuple, margin_fraction: float = REWARD_MARGIN) -> dict:
    """One method (``a`` = (task label, variant)) against the reference (``b``), paired by seed: the
    time ratio and reduction (log scale), the final objective's and reward's differences, the margin,
    the memory ratios, and each verdict; how many seeds would decide a reward claim that is not yet
    decided. The one computation the claims table and the verdict share."""
    ratio = block_ratio(ok, a, b, "time_per_iter_s")
    obj = pair_by_seed(ok, a, b, "objective_final")
    dobj = paired_difference(*obj)
    drew = paired_difference(*pair_by_seed(ok, a, b, "reward_final"))
    ref = ok[(ok.task == b[0]) & (ok.variant == b[1])]
    gain = math.nan
    if len(ref) and "objective_init" in ref:  # the reference's own gain over the run
        gain = float((ref.objective_final - ref.objective_init).mean())
    margin = margin_fraction * abs(gain) if gain == gain else math.nan
    act = pair_by_seed(ok, a, b, "activation_bytes")
    graph = pair_by_seed(ok, a, b, "graph_bytes")
    peak = pair_by_seed(ok, a, b, "peak_tensor_bytes")
    n = ratio[3]
    reward_verdict = _reward_verdict(*dobj[:3], margin, n=dobj[3])
    needed = None
    if reward_verdict.startswith(("not shown", "n/a")):
        needed = seeds_needed(*obj, 0.0 if margin != margin else margin)
    return {
        "seeds": n,
        "time_ratio": ratio[:3],
        "time_reduction": tuple(1 - v for v in (ratio[0], ratio[2], ratio[1])),
        "time_df": ratio[4],
        "objective_difference": dobj[:3],
        "reward_difference": drew[:3],
        "margin": margin,
        "activation_ratio": float(np.nanmean(act[0] / act[1])) if len(act[0]) else math.nan,
        "graph_ratio": float(np.nanmean(graph[0] / graph[1])) if len(graph[0]) else math.nan,
        "peak_ratio": float(np.nanmean(peak[0] / peak[1])) if len(peak[0]) else math.nan,
        "cost_verdict": _cost_verdict(*ratio[:4]),
        "reward_verdict": reward_verdict,
        "seeds_needed": needed,
    }


def claims(
    df: pd.DataFrame,
    table: pd.DataFrame,
    reference: str = "bptt",
    method: str = "sdo",
    margin: float = REWARD_MARGIN,
) -> str:
    """Each claim of the paper beside what this run measured, per task, paired by seed; for an
    authors'-regime entry (start_step s > 0) the "~90%" claim is read twice: against ``reference`` in
    the same regime, and against ``reference`` over all N steps."""
    ok = df[df.status == "ok"]
    lines = [
        "# The paper's claims against this run",
        "",
        "SDO (Dou et al., 2025, arXiv 2505.07477) claims, for optimizing a differentiable reward "
        "through diffusion sampling, with the graph of one sampling step kept:",
        "",
        "1. **cost**: about 90% less compute than full backpropagation (`bptt`);",
        "2. **reward**: equal or better final reward than full backpropagation;",
        "3. **memory**: the autograd graph of one step instead of N.",
        "",
        f"Every `{method}` variant against `{reference}` on the same task and machine, paired by seed, with "
        f"{100 * CI_LEVEL:.0f}% intervals over the seeds both ran; no interval and no verdict from fewer "
        f"than {MIN_SEEDS} seeds. **Cost**: the time per iteration (compute time: the process's CPU time "
        "on the CPU, CUDA events on a GPU; each run's fastest iteration of equal work, since other work on "
        "the machine only adds time) as a ratio to the reference's, from the per-seed log ratios, its "
        "interval with the spread of every variant of the task (seeds as blocks: the variants of a seed "
        "run back to back), so a reduction 1 - ratio never exceeds 100%; supported when the whole "
        f"interval's reduction is >= {CLAIMED_REDUCTION:.0%}, not supported when none of it is, cannot "
        "decide when it straddles that. "
        '**Reward**: "equal or better" is a non-inferiority claim against a margin stated in the config '
        f"(`report.reward_margin` = {margin:g}: the method may lose at most that fraction of the objective "
        f"`{reference}` gains over the run, `margin` below in the objective's units), on the paired "
        "difference of the final objective (paired t-interval): *supported (better)* when the interval "
        "lies above 0, *supported (non-inferior)* when its lower end is above -margin, *not shown* when "
        "it straddles -margin (with the seeds that would decide it at the spread seen), *not supported "
        "(worse)* when it lies below -margin. "
        "**Memory**: supported when the activation bytes (the rise of live tensor bytes during one "
        "gradient, counted at the dispatcher: what a GPU allocator would add) are at most 2/N of the "
        "reference's (deterministic: no interval).",
        "",
        "In the authors' regime (start_step s > 0: steps 0..s-1 run once, the variable is x_s) the cost "
        "claim is read twice: against the reference in the same regime (`against` = the same task), "
        "and against the reference over all N steps from x_T (`against` = the full-chain entry).",
        "",
        "| task | method | reward | cost | memory | seeds | final objective difference | margin "
        "| time ratio | time reduction | activation bytes ratio | graph bytes ratio | N | s | against |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for task, g in table.groupby("task", sort=False):
        if g[g.method == reference].empty:
            continue
        for _, r in g[g.method.str.startswith(method)].iterrows():
            against = [(task, r.N + r.start_step)]
            full = _full_chain(table, r) if r.start_step else None
            if full is not None and not table[(table.task == full) & (table.method == reference)].empty:
                against.append((full, r.N + r.start_step))
            for ref_task, n_full in against:
                c = claim(ok, (task, r.method), (ref_task, reference), margin)
                act = c["activation_ratio"]
                reward = c["reward_verdict"]
                if c["seeds_needed"] and reward.startswith("not shown"):
                    reward += f"; about {c['seeds_needed']} seeds would decide"
                lines.append(
                    f"| {task} | {r.method} | {reward} | {c['cost_verdict']} | "
                    f"{_verdict(None if act != act else (act <= 2 / n_full, act <= 0.5))} | {c['seeds']} | "
                    f"{_fmt_ci(*c['objective_difference'])} | "
                    f"{'–' if c['margin'] != c['margin'] else format(c['margin'], '.3f')} | "
                    f"{_fmt_ci(*c['time_ratio'], ratio=True)} | {_fmt_ci(*c['time_reduction'], pct=True)} | "
                    f"{act:.4f} | {c['graph_ratio']:.4f} | {n_full} | {r.start_step} | "
                    f"{'same task' if ref_task == task else ref_task + ' (all N steps)'} |"
                )
    lines += [
        "",
        "On a CPU the network is small and per-call overheads weigh more than on a GPU; see the "
        "cost_in_samples column of main.md for the time in units of one no-grad sample, and the paper-"
        "scale rows below (predicted FLOPs) where the config has a cost grid.",
    ]
    return "\n".join(lines) + "\n"


def _verdict(v: tuple | None) -> str:
    if v is None:
        return "not measured"
    ok, partly = v
    return "supported" if ok else ("partly supported" if partly else "not supported")


def _too_few(n: int) -> str:
    return f"n/a: {n} seed{'s' if n != 1 else ''} (a verdict needs {MIN_SEEDS})"


def _cost_verdict(ratio, lo, hi, n: int = MIN_SEEDS) -> str:
    """The "~90% less compute" claim on the time ratio ``ratio [lo, hi]`` (method / reference):
    supported when the whole interval's reduction is at least :data:`CLAIMED_REDUCTION`, not supported
    when none of it is, and undecided when the interval straddles it."""
    if ratio != ratio:
        return "not measured"
    if n < MIN_SEEDS or lo != lo:
        return _too_few(n)
    worst, best = 1 - hi, 1 - lo  # the reduction's ends
    if worst >= CLAIMED_REDUCTION:
        return "supported"
    if best < CLAIMED_REDUCTION:
        return "not supported"
    return "cannot decide"


def _reward_verdict(m, lo, hi, margin=0.0, n: int = MIN_SEEDS) -> str:
    """Non-inferiority of the paired objective difference ``m [lo, hi]`` at ``margin`` (>= 0)."""
    if m != m:
        return "not measured"
    if margin != margin:
        margin = 0.0
    if n < MIN_SEEDS or lo != lo:
        return _too_few(n)
    if lo > 0:
        return "supported (better)"
    if lo > -margin:
        return "supported (non-inferior)"
    return "not supported (worse)" if hi < -margin else "not shown (the interval straddles -margin)"


FORMATS = {
    "time_per_iter_s": "{:.4f}",
    "speedup_vs_ref": "{:.2f}",
    "cost_in_samples": "{:.2f}",
    "peak_tensor_MiB": "{:.2f}",
    "activation_MiB": "{:.2f}",
    "mem_ratio_vs_ref": "{:.3f}",
    "activation_ratio_vs_ref": "{:.4f}",
    "graph_MiB": "{:.3f}",
    "graph_ratio_vs_ref": "{:.4f}",
    "reward_init": "{:.3f}",
    "penalty_final": "{:.4g}",
    "judge_target_prob": "{:.3f}",
    "judge_real_prob": "{:.3f}",
    "judge_fid": "{:.2f}",
    "judge_kid": "{:.4f}",
    "judge_kid_se": "{:.4f}",
    "grad_cosine_vs_exact": "{:.4f}",
}
#: the main table as a person reads it: at most twelve columns, each under a header in words (every
#: column, under its field name, stays in main.csv)
SHOWN = {
    "task": "task",
    "method": "method",
    "N": "N",
    "status": "runs",
    "time_per_iter_s": "time / iteration (s)",
    "speedup_vs_ref": "speed-up vs reference",
    "peak_tensor_MiB": "peak memory (MiB)",
    "mem_ratio_vs_ref": "memory vs reference",
    "reward_final": "final reward",
    "objective_final": "final objective",
    "judge_target_prob": "judge: P(target)",
    "grad_cosine_vs_exact": "cosine to exact gradient",
}


def formatted(table: pd.DataFrame, headers: bool = False) -> pd.DataFrame:
    """The shown columns, formatted (``headers``: under their headers in words)."""
    t = table[list(SHOWN)].copy()
    if "same_as" in table:  # rows that are another row's algorithm say so where the method is named
        t["method"] = [m + (f" (= {s})" if s else "") for m, s in zip(table.method, table.same_as)]
    for col, fmt in FORMATS.items():
        if col not in t:
            continue
        t[col] = t[col].map(lambda v, f=fmt: "–" if v != v else f.format(v))
    return t.rename(columns=SHOWN) if headers else t


def write_tables(
    df: pd.DataFrame,
    out_dir: str | Path,
    reference: str = "bptt",
    cost_rows: pd.DataFrame | None = None,
    reward_margin: float = REWARD_MARGIN,
) -> pd.DataFrame:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = main_table(df, reference)
    table.to_csv(out_dir / TABLES["csv"], index=False)
    shown = formatted(table, headers=True)
    note = (
        f"Means over the finished seeds; time is compute time (CPU time on the CPU, CUDA events on a GPU); "
        f"ratios against `{reference}` on the same seeds. Every column: main.csv."
    )
    main_md = shown.to_markdown(index=False) + "\n\n" + note + " " + provenance_line(table) + "\n"
    claims_md = claims(df, table, reference, margin=reward_margin)
    if cost_rows is not None and not cost_rows.empty:
        from .cost import claims_rows

        claims_md += "\n".join(claims_rows(cost_rows)) + "\n"
    claims_md += "\n" + provenance_line(table) + "\n"
    (out_dir / TABLES["md"]).write_text(main_md)
    (out_dir / TABLES["tex"]).write_text(shown.to_latex(index=False, escape=True))
    (out_dir / TABLES["claims"]).write_text(claims_md)
    # HTML copies for `snakemake --report`, which shows HTML inline and Markdown only as a download
    (out_dir / TABLES["html"]).write_text(markdown_to_html(main_md, "sdo-bench main table"))
    (out_dir / TABLES["claims_html"]).write_text(markdown_to_html(claims_md, "sdo-bench claims"))
    return table
