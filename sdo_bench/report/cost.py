"""The cost model's report (every figure *predicted*, :mod:`sdo_bench.cost`): ``cost.{csv,md,html}``, the
OOM map (method × N × card → fits / out of memory), the predicted-memory figure per task and the paper-scale
rows of the claims table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..spec.outputs import COST_TABLES

GiB = 2**30
CARD_LINES_GB = (24, 40, 80)


def load_rows(paths) -> pd.DataFrame:
    """One row per (task, variant, N, dtype) from ``sdo-bench cost --out`` files."""
    from ..records.io import read_json

    rows = []
    for p in map(Path, paths):
        for r in read_json(p, "cost file")["rows"]:
            flat = {k: v for k, v in r.items() if k != "gpus"}
            for gpu, g in (r.get("gpus") or {}).items():
                flat[f"fits {gpu}"] = g["fits"]
                flat[f"time_lb_s {gpu}"] = g["time_lower_bound_s"]
            rows.append(flat)
    df = pd.DataFrame(rows)
    if not df.empty:
        df["flops_total"] = df.flops_forward + df.flops_backward
    return df


def cost_table(df: pd.DataFrame) -> pd.DataFrame:
    ok = df[df.status == "ok"]
    t = pd.DataFrame(
        {
            "task": ok.task,
            "method": ok.variant,
            "N": ok.steps,
            "batch": ok.batch,
            "dtype": ok.dtype,
            "attention": ok.attention,
            "peak_GiB": ok.peak_tensor_bytes / GiB,
            "weights_GiB": ok.weights_bytes / GiB,
            "activation_GiB": ok.activation_bytes / GiB,
            "optimizer_state_GiB": ok.optimizer_state_bytes / GiB,
            "TFLOP_forward": ok.flops_forward / 1e12,
            "TFLOP_backward": ok.flops_backward / 1e12,
            "nfe_fwd_bwd": [f"{int(a)}/{int(b)}" for a, b in zip(ok.nfe_forward, ok.nfe_backward)],
            **{
                c.replace("time_lb_s ", "time_lb_s_"): ok[c] for c in ok.columns if c.startswith("time_lb_s ")
            },
        }
    )
    failed = df[df.status != "ok"]
    if not failed.empty:
        t = pd.concat(
            [
                t,
                pd.DataFrame(
                    {
                        "task": failed.task,
                        "method": failed.variant,
                        "N": failed.steps,
                        "dtype": failed.dtype,
                        "attention": failed.attention,
                        "status": failed.status + ": " + failed.error.fillna(""),
                    }
                ),
            ]
        )
    return t.sort_values(["task", "dtype", "method", "N"]).reset_index(drop=True)


def oom_map(df: pd.DataFrame) -> pd.DataFrame:
    """Per task, dtype and method: for each N and card, ``fits`` or ``OOM`` (peak + 1 GiB reserved)."""
    ok = df[df.status == "ok"]
    cards = [c.removeprefix("fits ") for c in ok.columns if c.startswith("fits ")]
    rows = []
    for (task, dtype, variant, n), g in ok.groupby(["task", "dtype", "variant", "steps"], sort=True):
        r = g.iloc[0]
        rows.append(
            {
                "task": task,
                "dtype": dtype,
                "method": variant,
                "N": n,
                "peak_GiB": f"{r.peak_tensor_bytes / GiB:.1f}",
                **{card: "fits" if r[f"fits {card}"] else "OOM" for card in cards},
            }
        )
    return pd.DataFrame(rows)


def write(df: pd.DataFrame, out: Path, checks: pd.DataFrame | None = None) -> None:
    """cost.{csv,md,html} (with a ``checked_on`` column for the rows in ``checks``: what
    ``sdo-bench cost --check`` measured) and the OOM map."""
    from .cost_check import with_checked_on
    from .html import markdown_to_html

    note = (
        "Predicted by `sdo-bench cost` (fake tensors, models built from their configs, no weights, no "
        "GPU): peak live tensor bytes of one gradient and one optimizer step, FLOPs from torch's formula "
        "table, and a lower bound on the time per iteration on each card (FLOPs at its peak dense rate, "
        "or the network's weights read once per evaluation at its bandwidth). Not measured.\n\n"
    )
    table = with_checked_on(cost_table(df), checks if checks is not None else pd.DataFrame())
    table.to_csv(out / COST_TABLES["cost_csv"], index=False)
    md = note + table.to_markdown(index=False, floatfmt=".3g") + "\n"
    (out / COST_TABLES["cost_md"]).write_text(md)
    (out / COST_TABLES["cost_html"]).write_text(markdown_to_html(md, "sdo-bench cost model (predicted)"))
    omap = oom_map(df)
    oom_md = (
        "# OOM map (predicted)\n\n"
        "Fits when the predicted peak tensor bytes plus the card's reserve are within the card's memory. "
        f"Reserve: {_reserves()}.\n\n"
        + (omap.to_markdown(index=False) if not omap.empty else "(no rows)")
        + "\n"
    )
    (out / COST_TABLES["oom_md"]).write_text(oom_md)
    (out / COST_TABLES["oom_html"]).write_text(markdown_to_html(oom_md, "sdo-bench OOM map (predicted)"))


def _reserves() -> str:
    """Each card's reserve and where it comes from (:mod:`sdo_bench.cost.cards`)."""
    from ..cost.cards import GPUS, reserve

    by_source: dict[tuple, list[str]] = {}
    for card in GPUS:
        by_source.setdefault(reserve(card), []).append(card)
    return "; ".join(
        f"{b / GiB:.2f} GiB on {', '.join(cards)} (CUDA context, allocator and workspaces: {src})"
        for (b, src), cards in by_source.items()
    )


def figure(df: pd.DataFrame, task: str, path: Path) -> None:
    """Predicted peak GiB against N per method (log-log), with lines at 24, 40 and 80 GB."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .figures import _colors, _steps_axis

    d = df[(df.task == task) & (df.status == "ok")]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    colors = _colors(list(dict.fromkeys(d.variant)))
    groups = list(d.groupby(["variant", "dtype"], sort=False))
    for i, ((variant, dtype), g) in enumerate(groups):
        g = g.sort_values("steps")
        ax.plot(  # markers shrink down the legend: methods with the same peak show as nested rings
            g.steps,
            g.peak_tensor_bytes / GiB,
            marker="o",
            markersize=4 + 2.5 * (len(groups) - 1 - i),
            markerfacecolor="none" if i < len(groups) - 1 else colors[variant],
            color=colors[variant],
            lw=1.5,
            ls="-" if dtype == "float16" else "--",
            label=f"{variant} ({dtype})",
        )
    for gb in CARD_LINES_GB:
        ax.axhline(gb * 1e9 / GiB, color="grey", lw=0.8, ls=":")
        ax.text(
            0.99,
            gb * 1e9 / GiB,
            f"{gb} GB card",
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="bottom",
            fontsize=7,
            color="grey",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    _steps_axis(ax, sorted(set(d.steps)))
    ax.set_xlabel("sampling steps N")
    ax.set_ylabel("peak tensor memory (GiB, predicted)")
    batch = ", ".join(str(b) for b in sorted(set(d.batch.dropna().astype(int)))) or "–"
    ax.set_title(
        f"{task}: predicted peak memory of one gradient + optimizer step\n"
        f"(batch {batch}, fake tensors, no weights; dotted: 24/40/80 GB cards)",
        fontsize=9,
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def at_closest_n(ok: pd.DataFrame, method: str, at: int):
    """Per cost task and dtype: ``(task, dtype, N, rows by variant, method's row)`` at N = ``at`` or the
    closest N predicted, where ``method`` has a row there."""
    for (task, dtype), g in ok.groupby(["task", "dtype"], sort=True):
        n = min(set(g.steps), key=lambda s: (abs(s - at), s))
        g = g[g.steps == n].set_index("variant")
        if method in g.index:
            yield task, dtype, n, g, g.loc[method]


def claims_rows(df: pd.DataFrame, method: str = "sdo", at: int = 50) -> list[str]:
    """Paper-scale rows of the claims table: ``method`` against ``bptt`` and ``checkpoint`` at N = ``at``
    (or the closest N predicted), in activation memory and FLOPs, with the verdict on "~90% less"."""
    if df.empty:
        return []
    ok = df[df.status == "ok"]
    lines = [
        "",
        "## At paper scale (predicted by the cost model, not measured)",
        "",
        f"`{method}` against full backpropagation (`bptt`) and per-step checkpointing (`checkpoint`) at "
        f"N = {at} (or the closest N predicted): the activation bytes of one gradient (its rise of live "
        "tensor bytes) and its FLOPs (forward + backward; checkpointing's recomputation counts in its "
        "backward). "
        'Verdict on "~90% less compute": supported at >= 85% fewer FLOPs, partly at >= 50%.',
        "",
        "| task | dtype | N | against | activation ratio | FLOP ratio (total) | FLOP reduction (total) "
        "| backward FLOP reduction | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for task, dtype, n, g, m in at_closest_n(ok, method, at):
        for ref in ("bptt", "checkpoint"):
            if ref not in g.index:
                continue
            r = g.loc[ref]
            act = m.activation_bytes / r.activation_bytes
            flops = m.flops_total / r.flops_total
            bwd = 1 - m.flops_backward / r.flops_backward if r.flops_backward else np.nan
            red = 1 - flops
            verdict = "supported" if red >= 0.85 else ("partly supported" if red >= 0.5 else "not supported")
            lines.append(
                f"| {task} | {dtype} | {n} | {ref} | {act:.4f} | {flops:.3f} | {100 * red:.1f}% | "
                f"{100 * bwd:.1f}% | {verdict} |"
            )
    return lines


def format_rows(rows: list[dict], checked: bool = False) -> str:
    """The rows as a table for the terminal (every figure predicted); ``checked``: followed by what
    ``--check`` measured (:func:`.cost_check.format_checked`)."""
    GiB = 2**30
    head = (
        f"{'task':22s} {'method':16s} {'N':>4s} {'dtype':8s} {'attn':5s} {'peak GiB':>9s} {'weights':>8s} "
        f"{'activ.':>8s} {'optim.':>7s} {'TFLOP fwd':>10s} {'TFLOP bwd':>10s} {'nfe f/b':>8s}  fits on"
    )
    lines = ["predicted (fake tensors, models from configs, no weights; not measured):", head]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"{r['task']:22s} {r['variant']:16s} {r['steps']:>4d} {r['status']}: {r['error']}")
            continue
        fits = ", ".join(g for g, v in r["gpus"].items() if v["fits"]) or "none of the listed cards"
        lines.append(
            f"{r['task']:22s} {r['variant']:16s} {r['steps']:>4d} {r['dtype']:8s} {r['attention']:5s} "
            f"{r['peak_tensor_bytes'] / GiB:9.3f} {r['weights_bytes'] / GiB:8.3f} "
            f"{r['activation_bytes'] / GiB:8.3f} {r['optimizer_state_bytes'] / GiB:7.3f} "
            f"{r['flops_forward'] / 1e12:10.2f} {r['flops_backward'] / 1e12:10.2f} "
            f"{r['nfe_forward']:>4d}/{r['nfe_backward']:<3d}  {fits}"
        )
    if checked:
        from .cost_check import format_checked

        lines += ["", format_checked(rows)]
    return "\n".join(lines)
