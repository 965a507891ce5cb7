"""``sdo-bench gpu-check``: every prediction family checked on the card at hand, in one prepared command.

On the CUDA device it finds, for each family's x_T task — the tiny ones first (seconds), then SD 1.5,
SDXL, SD 3.5 Medium, FLUX.1-schnell, SD 3.5 Large and FLUX.1-dev at paper scale (random weights at full
size, in float16) — and each of ``sdo``, ``checkpoint``, ``adjoint`` and ``bptt``, at a small N, it
predicts the row (:mod:`.predict`) and runs it for real (:mod:`.check`): the allocator's allocated and
reserved peaks, the CUDA context and workspaces, the overhead beyond the prediction, and the time. A row
the prediction says cannot fit the card is not run (it says so); a row that runs out of memory is a
result. Rows run cheapest first, and the tables are rewritten after every row, so a time limit (or a
kill) leaves a partial table, not nothing: ``gpu_check.{csv,md}``, and ``gpu_check_overheads.json``, the
largest measured overhead per card, ready to add to ``sdo_bench/assets/cuda_overheads.json`` with its
source.

Without CUDA it refuses in one line; ``--device cpu`` substitutes the CPU on the tiny tasks (what CI
runs: the tracker on real tensors against the prediction).
"""

from __future__ import annotations

import time
from pathlib import Path

from ..spec.outputs import TABLES_DIR

#: (task, N), cheapest first; the tiny tasks are the CPU substitution's whole plan
TINY = (("tiny-sd-latent", 2), ("tiny-sdxl-latent", 2), ("tiny-sd3-latent", 2), ("tiny-flux-latent", 2))
PAPER = (
    ("sd15-latent-hpsv2", 2),
    ("sdxl-latent-hpsv2", 2),
    ("sd35-medium-latent-hpsv2", 2),
    ("flux-schnell-latent-hpsv2", 2),
    ("sd35-large-latent-hpsv2", 2),
    ("flux-dev-latent-hpsv2", 2),
)
METHODS = ("sdo", "checkpoint", "adjoint", "bptt")
#: the columns of the tables, in order
COLUMNS = (
    "task", "variant", "steps", "dtype", "batch", "check_status", "check_error", "peak_tensor_bytes",
    "measured_peak_tensor_bytes", "ratio_peak_tensor_bytes", "measured_max_allocated_bytes",
    "measured_max_reserved_bytes", "ratio_max_reserved", "measured_cuda_context_bytes",
    "measured_overhead_bytes", "measured_time_per_iteration_s", "ratio_time", "checked_on",
)  # fmt: skip


def plan(device_type: str, methods=METHODS) -> list[tuple[str, int, str]]:
    """``(task, N, method)`` in the order they run."""
    tasks = TINY if device_type == "cpu" else (*TINY, *PAPER)
    return [(t, n, m) for t, n in tasks for m in methods]


def run(
    device: str = "cuda",
    out_dir=TABLES_DIR,
    time_limit_s: float = 480.0,
    iterations: int = 2,
    methods=METHODS,
    tasks: list[str] | None = None,
) -> dict:
    """Check every row of :func:`plan` (``tasks``: only these) until ``time_limit_s`` has passed; the
    tables are written after each row. Returns what was written and how far it got."""
    import torch

    from ..records.io import check_dir
    from ..spec.variant import Variant
    from . import check as cost_check
    from .predict import predict

    try:
        dev = cost_check.device(device)
    except cost_check.NoDevice:
        raise ValueError(
            f"gpu-check needs a CUDA device and this machine has none (torch {torch.__version__}): run it on "
            "a machine with a GPU, or give --device cpu to check the tiny tasks on the CPU"
        ) from None
    check_dir(out_dir, "--out")
    if time_limit_s <= 0:
        raise ValueError(f"--time-limit must be > 0 seconds, got {time_limit_s}")
    dtype = "float16" if dev.type == "cuda" else "float32"
    card_memory = torch.cuda.get_device_properties(dev).total_memory if dev.type == "cuda" else None
    todo = [p for p in plan(dev.type, methods) if tasks is None or p[0] in tasks]
    rows, start = [], time.monotonic()
    for task, n, method in todo:
        row = {"task": task, "variant": method, "steps": n, "dtype": dtype}
        if time.monotonic() - start > time_limit_s:
            rows.append(dict(row, check_status="not run", check_error=f"time limit ({time_limit_s:.0f} s)"))
            continue
        v = Variant(method)
        pred = predict(task, v, n, dtype=dtype)
        if pred["status"] != "ok":
            rows.append(dict(pred, check_status="not run", check_error=f"no prediction: {pred['error']}"))
        elif card_memory is not None and pred["peak_tensor_bytes"] > card_memory:
            need = pred["peak_tensor_bytes"] / 2**30
            rows.append(
                dict(pred, check_status="not run", check_error=f"predicted {need:.1f} GiB: over the card")
            )
        else:
            (checked,) = cost_check.checked(
                [pred], v, dev=dev, iterations=iterations, settings=None, batch=None
            )
            rows.append(checked)
        _write(rows, Path(out_dir), dev)
    _write(rows, Path(out_dir), dev)
    done = sum(r.get("check_status") == "ok" for r in rows)
    return {"rows": rows, "checked": done, "planned": len(todo), "seconds": time.monotonic() - start,
            "out": str(out_dir)}  # fmt: skip


def _write(rows: list[dict], out: Path, dev) -> None:
    """gpu_check.{csv,md} and the overheads file, each atomically."""
    import pandas as pd

    from ..records.io import write_atomic, write_text_atomic
    from ..spec.outputs import GPU_CHECK_TABLES

    df = pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in rows], columns=list(COLUMNS))
    write_text_atomic(out / GPU_CHECK_TABLES["csv"], df.to_csv(index=False))
    shown = df[["task", "variant", "steps", "dtype", "check_status", "ratio_peak_tensor_bytes",
                "ratio_max_reserved", "measured_overhead_bytes", "measured_time_per_iteration_s",
                "ratio_time", "check_error"]]  # fmt: skip
    head = (f"# GPU check on {_device_name(dev)}\n\nEach row: the cost model's prediction beside a real run "
            "with random weights (ratios: measured / predicted). Rows not run say why.\n\n")  # fmt: skip
    write_text_atomic(out / GPU_CHECK_TABLES["md"], head + shown.to_markdown(index=False) + "\n")
    overheads = [r["measured_overhead_bytes"] for r in rows if r.get("measured_overhead_bytes") is not None]
    card = rows[-1].get("checked_on") if rows else None
    write_atomic(out / GPU_CHECK_TABLES["overheads"], {
        "card": card, "device": _device_name(dev),
        "overhead_bytes": max(overheads) if overheads else None,
        "source": f"sdo-bench gpu-check, {len(overheads)} checked rows, torch {_torch_version()}",
    })  # fmt: skip


def _device_name(dev) -> str:
    import torch

    return torch.cuda.get_device_name(dev) if dev.type == "cuda" else "the CPU (substituted)"


def _torch_version() -> str:
    import torch

    return torch.__version__


def text(result: dict) -> str:
    done = f"{result['checked']} of {result['planned']} rows checked in {result['seconds']:.0f} s"
    return f"gpu-check: {done}; tables in {result['out']}"
