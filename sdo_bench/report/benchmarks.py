"""Where the workflow's time goes: Snakemake's ``benchmark:`` files (one per job: wall seconds, CPU
seconds, peak memory) summed per rule family into the time table
(:data:`sdo_bench.spec.outputs.TIME_PER_RULE`).

A family is the first folder under the benchmarks' folder (:data:`sdo_bench.spec.outputs.BENCHMARKS_DIR`):
``runs``, ``sweeps``, ``cost``, ``models``, or the rule's own file (``tables``, ``figures``); ``runs`` is
also broken down by task.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..spec.outputs import BENCHMARKS_DIR
from ..spec.outputs import TIME_PER_RULE as FILES


def load(paths, root: str = BENCHMARKS_DIR) -> pd.DataFrame:
    """One row per benchmark file: family, task (for runs, sweeps and cost), wall s, CPU s, max RSS MiB."""
    rows = []
    for p in map(Path, paths):
        parts = p.as_posix().split(root.rstrip("/") + "/", 1)[-1].split("/")
        tsv = pd.read_csv(p, sep="\t")
        last = tsv.iloc[-1]
        rows.append(
            {
                "family": parts[0].removesuffix(".tsv"),
                # runs/<task>.tsv, sweeps/<task>.tsv, cost/<task>.tsv: one job per task
                "task": parts[1].removesuffix(".tsv") if len(parts) > 1 else "",
                "wall_s": float(last["s"]),
                "cpu_s": float(last.get("cpu_time", float("nan"))),
                "max_rss_MiB": float(last.get("max_rss", float("nan"))),
            }
        )
    return pd.DataFrame(rows, columns=["family", "task", "wall_s", "cpu_s", "max_rss_MiB"])


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per family (and per task of the runs): jobs, summed wall and CPU seconds, their share, max RSS."""
    parts = []
    for key, g in df.groupby("family", sort=False):
        parts.append(_row(key, g))
        if key == "runs":
            parts += [_row(f"runs: {t}", gt) for t, gt in g.groupby("task", sort=True)]
    out = pd.DataFrame(parts)
    total = df.wall_s.sum()
    out["share_of_job_time"] = out.wall_s / total if total else float("nan")
    out = pd.concat([out, pd.DataFrame([dict(_row("all jobs", df), share_of_job_time=1.0)])])
    return out.reset_index(drop=True)


def _row(name, g) -> dict:
    return {
        "rule family": name,
        "jobs": len(g),
        "wall_s": g.wall_s.sum(),
        "cpu_s": g.cpu_s.sum(),
        "max_rss_MiB": g.max_rss_MiB.max(),
    }


def write(paths, out_dir) -> str:
    """``sdo-bench report benchmarks``: the summary as Markdown (and CSV) in ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = summary(load(paths))
    table.to_csv(out_dir / FILES["csv"], index=False)
    shown = table.copy()
    for col, fmt in (("wall_s", "{:.0f}"), ("cpu_s", "{:.0f}"), ("max_rss_MiB", "{:.0f}")):
        shown[col] = shown[col].map(lambda v, f=fmt: "–" if v != v else f.format(v))
    shown["share_of_job_time"] = shown["share_of_job_time"].map(lambda v: f"{100 * v:.1f}%")
    text = (
        "# Where the time goes\n\nSnakemake's `benchmark:` files, summed per rule family: job wall-clock "
        "and CPU seconds (jobs run in parallel, so the sum exceeds the workflow's elapsed time).\n\n"
        + shown.to_markdown(index=False)
        + "\n"
    )
    (out_dir / FILES["md"]).write_text(text)
    # the HTML copy for `snakemake --report`, which shows HTML inline and Markdown only as a download
    from .html import markdown_to_html

    (out_dir / FILES["html"]).write_text(markdown_to_html(text, "sdo-bench: where the time goes"))
    return f"wrote {out_dir / FILES['md']} ({len(paths)} jobs)"
