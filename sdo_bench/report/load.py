"""Run records into pandas frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

TENSOR_SPLIT = ("weights_bytes", "activation_bytes", "optimizer_state_bytes", "cuda_max_allocated_bytes")


def load_records(paths) -> pd.DataFrame:
    """One row per record; nested fields flattened to the columns the report uses."""
    from ..records.io import compared_seconds, compared_time, read_record

    rows = []
    for p in map(Path, paths):
        rec = read_record(p)
        wall = rec.get("time_per_iter_s") or {}
        tpi = compared_time(rec)
        judge = rec.get("judge") or {}
        rows.append(
            {
                "path": str(p),
                "task": rec.get("task_label") or rec["task"],  # a config entry's label, else the name
                "task_name": rec["task"],
                "variant": rec.get("variant", rec["method"]),
                "method": rec["method"],
                "algorithm": rec.get("algorithm") or rec.get("variant", rec["method"]),
                "kind": rec.get("method_kind") or "approximate",
                "seed": rec["seed"],
                "steps": rec["steps"],
                "target": rec["target"],
                "dtype": rec["dtype"],
                "batch": rec["batch"],
                "start_step": rec.get("start_step", 0),
                "status": rec["status"],
                "error": rec.get("error"),
                "time_per_iter_s": _num(compared_seconds(rec)),
                "time_p10_s": tpi.get("p10", np.nan),
                "time_p90_s": tpi.get("p90", np.nan),
                "wall_time_per_iter_s": wall.get("median", np.nan),
                "time_clock": rec.get("time_clock") or "wall",
                "time_note": rec.get("time_note"),
                "time_sample_s": _num(rec.get("time_sample_s")),
                "forward_s": _num(rec.get("forward_s")),
                "backward_s": _num(rec.get("backward_s")),
                "peak_tensor_bytes": _num(rec.get("peak_tensor_bytes")),
                **{k: _num((rec.get("tensor_memory") or {}).get(k)) for k in TENSOR_SPLIT},
                "peak_memory_bytes": _num(rec.get("peak_memory_bytes")),
                "peak_memory_delta_bytes": _num(rec.get("peak_memory_delta_bytes")),
                "peak_memory_source": rec.get("peak_memory_source"),
                "graph_bytes": _num(rec.get("graph_bytes")),
                "nfe_forward": _num(rec.get("nfe_forward")),
                "nfe_backward": _num(rec.get("nfe_backward")),
                "reward_init": _num(rec.get("reward_init")),
                "reward_final": _num(rec.get("reward_final")),
                "reward_heldout_final": _num(rec.get("reward_heldout_final")),
                "objective_init": _num(rec.get("objective_init", rec.get("reward_init"))),
                "objective_final": _num(rec.get("objective_final", rec.get("reward_final"))),
                # the penalty the objective subtracts: the regularizer's (parameter targets) or the prior's
                "penalty_final": _num(_first(rec.get("regularizer_final"), rec.get("prior_final"))),
                "judge_real_prob": _num(judge.get("judge_real_prob")),
                "judge_kid": _num(judge.get("kid")),
                "judge_kid_se": _num(judge.get("kid_se")),
                "grad_cosine_vs_exact": _num(rec.get("grad_cosine_vs_exact")),
                "judge_target_prob": _num(judge.get("judge_target_prob")),
                "judge_fid": _num(judge.get("fid")),
                "reward_curve": rec.get("reward_curve") or [],
                "elapsed_s": rec.get("elapsed_s") or [],
                "device_name": (rec.get("provenance") or {}).get("device_name"),
                "git_commit": (rec.get("provenance") or {}).get("git_commit"),
            }
        )
    return pd.DataFrame(rows)


def _first(*values):
    return next((v for v in values if v is not None), None)


def _num(v):
    return np.nan if v is None else float(v)
