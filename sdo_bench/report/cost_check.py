"""What ``sdo-bench cost --check`` measured beside the predictions (:mod:`sdo_bench.cost.check`): the
terminal table, ``cost_check.{csv,md,html}`` and the cost table's "checked on" column."""

from __future__ import annotations

import pandas as pd

from ..spec.outputs import CHECK_TABLES

GiB = 2**30
#: the columns a checked row may lack (a prediction that failed has no peak; a CPU check no allocator)
_NEEDED = (
    "peak_tensor_bytes", "attention", "check_error", "measured_peak_tensor_bytes",
    "measured_max_allocated_bytes", "measured_max_reserved_bytes", "measured_overhead_bytes",
    "measured_time_per_iteration_s", "ratio_peak_tensor_bytes", "ratio_max_allocated", "ratio_max_reserved",
    "ratio_time",
)  # fmt: skip


def _gib(v) -> float | None:
    return None if v is None or pd.isna(v) else v / GiB


def _status(status: str, error) -> str:
    """ok, or the status and why ("oom at N = 50: ..." says its status already)."""
    if status == "ok" or not isinstance(error, str):
        return status
    return error if error.startswith(status) else f"{status}: {error}"


def check_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per checked (task, method, N, dtype): prediction, measurement and their ratio."""
    if df.empty:
        return pd.DataFrame()
    df = df.reindex(columns=list(dict.fromkeys([*df.columns, *_NEEDED])))  # a failed prediction has no peak
    cols = {
        "task": df.task,
        "method": df.variant,
        "N": df.steps,
        "dtype": df.dtype,
        "attention": df.attention,
        "checked_on": df.checked_on,
        "status": [_status(s, e) for s, e in zip(df.check_status, df.check_error)],
        "predicted_peak_GiB": df.peak_tensor_bytes.map(_gib),
        "tracker_peak_GiB": df.measured_peak_tensor_bytes.map(_gib),
        "tracker/predicted": df.ratio_peak_tensor_bytes,
        "max_allocated_GiB": df.measured_max_allocated_bytes.map(_gib),
        "allocated/predicted": df.ratio_max_allocated,
        "max_reserved_GiB": df.measured_max_reserved_bytes.map(_gib),
        "reserved/predicted": df.ratio_max_reserved,
        "overhead_GiB": df.measured_overhead_bytes.map(_gib),
        "s_per_iteration": df.measured_time_per_iteration_s,
        "time/lower_bound": df.ratio_time,
    }
    t = pd.DataFrame(cols).dropna(axis=1, how="all")  # CPU checks have no allocator columns
    return t.sort_values(["task", "dtype", "method", "N"]).reset_index(drop=True)


def format_checked(rows: list[dict]) -> str:
    """The measured half of ``sdo-bench cost --check`` for the terminal."""
    t = check_table(pd.DataFrame(rows))
    head = "measured (--check: random weights, real tensors, the same gradient and optimizer step):"
    return head + "\n" + t.to_string(index=False, float_format=lambda v: f"{v:.4g}")


def with_checked_on(cost: pd.DataFrame, checks: pd.DataFrame) -> pd.DataFrame:
    """The cost table (:func:`.cost.cost_table`) with a ``checked_on`` column: the card (or cpu) each
    row was checked on and the measured peak's ratio to the prediction (the allocator's reserved peak
    on CUDA, the tensor tracker's on CPU); empty for rows not checked."""
    if checks.empty or cost.empty:
        return cost
    checks = checks.reindex(columns=list(dict.fromkeys([*checks.columns, *_NEEDED])))
    ok = checks[checks.check_status == "ok"]
    ratio = [
        a if a is not None and pd.notna(a) else b
        for a, b in zip(ok.ratio_max_reserved, ok.ratio_peak_tensor_bytes)
    ]
    label = pd.DataFrame(
        {
            "task": ok.task,
            "method": ok.variant,
            "N": ok.steps,
            "dtype": ok.dtype,
            "checked_on": [f"{c} (x{r:.3f})" if pd.notna(r) else c for c, r in zip(ok.checked_on, ratio)],
        }
    )
    failed = checks[checks.check_status != "ok"]
    label = pd.concat(
        [
            label,
            pd.DataFrame(
                {
                    "task": failed.task,
                    "method": failed.variant,
                    "N": failed.steps,
                    "dtype": failed.dtype,
                    "checked_on": [f"{c} ({s})" for c, s in zip(failed.checked_on, failed.check_status)],
                }
            ),
        ]
    )
    label = label.groupby(["task", "method", "N", "dtype"], as_index=False).agg({"checked_on": "; ".join})
    return cost.merge(label, on=["task", "method", "N", "dtype"], how="left")


def write(checks: pd.DataFrame, out) -> None:
    from pathlib import Path

    from .html import markdown_to_html

    out = Path(out)
    note = (
        "Checked by `sdo-bench cost --check`: each predicted row beside a real run of the same gradient "
        "and optimizer step with random weights on the device named (`checked_on`). tracker: the "
        "tensor tracker on the real tensors (what the prediction counts on fake ones); allocated and "
        "reserved: `torch.cuda.max_memory_allocated` / `max_memory_reserved`; overhead: what the card "
        "used beyond the predicted peak (reserved + CUDA context and workspaces); time: the median "
        "measured time per iteration against the predicted lower bound on that card.\n\n"
    )
    table = check_table(checks)
    table.to_csv(out / CHECK_TABLES["cost_check_csv"], index=False)
    md = note + (table.to_markdown(index=False, floatfmt=".4g") if not table.empty else "(no rows)") + "\n"
    (out / CHECK_TABLES["cost_check_md"]).write_text(md)
    (out / CHECK_TABLES["cost_check_html"]).write_text(
        markdown_to_html(md, "sdo-bench cost check (measured)")
    )
