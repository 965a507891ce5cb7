"""Performance regression check: ``sdo-bench regress`` against ``benchmarks/baseline.json``.

For a fixed set of small cases (task, N) it measures, for every method, in one process:

* deterministic figures — ``peak_tensor_bytes`` (peak live tensor bytes of one gradient and
  optimizer step, :mod:`.tensor_memory`), ``graph_bytes`` (bytes saved for backward),
  ``nfe_forward``, ``nfe_backward`` and the status — which must match the baseline exactly;
* time ratios — the fastest time of one gradient over the fastest time of one no-grad sample
  (``time_over_sample``) and over ``bptt``'s (``time_over_bptt``), methods timed in interleaved
  rounds — which may not grow by more than a tolerance (default 20%). The minimum over rounds is the
  figure least disturbed by other work on a shared machine (as ``timeit`` reports); the cases run on
  one torch thread and are timed with that thread's CPU clock (``time.thread_time``).

The baseline (``--update``) is the median of three measurements; a check takes, per figure, the
better of two measurements, so that a regression must show in both. Absolute seconds are recorded
for information only; compare them with pytest-benchmark's ``--benchmark-compare-fail`` against a
baseline taken on the same machine (see README).

Every registered method is measured with its ``benchmark_options`` and named by its variant label, so
a new method needs a baseline update (``sdo-bench regress --update``) in the commit that adds it.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import torch

from .. import tasks as _tasks
from ..measure.tracker import measure_gradient
from ..methods import REGISTRY, Variant
from ..methods import build as build_method

#: (task, N, overrides, timing rounds)
CASES = [
    ("gmm-latent", 20, {"batch": 32}, 100),
    ("gmm-weights", 50, {"batch": 32}, 60),
    ("digits-latent", 10, {"batch": 4, "judge": False}, 15),
    ("digits-weights", 10, {"batch": 4, "judge": False}, 12),
]


def default_variants() -> list[Variant]:
    """One variant per registered method: its ``benchmark_options``."""
    return [Variant(name, dict(cls.benchmark_options)) for name, cls in REGISTRY.items()]


DETERMINISTIC = ("status", "peak_tensor_bytes", "graph_bytes", "nfe_forward", "nfe_backward")
RATIOS = ("time_over_sample", "time_over_bptt")
DEFAULT_BASELINE = Path("benchmarks/baseline.json")


def measure_case(
    task_name: str, steps: int, overrides: dict, rounds: int, variants: list[Variant] | None = None
) -> dict:
    """Deterministic figures and interleaved fastest times of every variant on one task (one process).
    ``variants`` (default :func:`default_variants`) must include ``bptt``."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread, timed with its own CPU clock: others' load matters less
    try:
        return _measure_case(task_name, steps, overrides, rounds, variants or default_variants())
    finally:
        torch.set_num_threads(threads)


def _measure_case(task_name, steps, overrides, rounds, variants):
    clock = time.thread_time
    task = _tasks.build(task_name, steps=steps, **overrides)
    variants = [(v.label, build_method(v)) for v in variants]
    out = {}
    for label, m in variants:
        res = m.gradient(task, measure_graph=True)  # also the warm-up
        tensor = measure_gradient(task, m) if res.status == "ok" else {}
        out[label] = {
            "status": res.status,
            "peak_tensor_bytes": tensor.get("peak_tensor_bytes"),
            "graph_bytes": res.graph_bytes,
            "nfe_forward": res.nfe_forward,
            "nfe_backward": res.nfe_backward,
        }
    task.reward()  # warm-up of the no-grad sample
    times = {label: [] for label, _ in variants}
    sample_times = []
    for _ in range(rounds):
        t0 = clock()
        task.reward()
        sample_times.append(clock() - t0)
        for label, m in variants:
            if out[label]["status"] != "ok":
                continue
            t0 = clock()
            m.gradient(task, measure_graph=False)
            times[label].append(clock() - t0)
    t_sample = min(sample_times)
    t_bptt = min(times["bptt"])
    for label, _ in variants:
        if not times[label]:
            out[label].update(time_s=None, time_over_sample=None, time_over_bptt=None)
            continue
        t = min(times[label])
        out[label].update(time_s=t, time_over_sample=t / t_sample, time_over_bptt=t / t_bptt)
    out["_sample"] = {"time_s": t_sample}
    return out


def measure(cases=CASES, progress: bool = True) -> dict:
    from ..records.provenance import device_name, versions

    result = {
        "machine": {"device_name": device_name("cpu"), "threads": 1, "torch": versions()["torch"]},
        "cases": {},
    }
    for task_name, steps, overrides, rounds in cases:
        t0 = time.perf_counter()
        case = measure_case(task_name, steps, overrides, rounds)
        for label, figures in case.items():
            result["cases"][f"{task_name}/N{steps}/{label}"] = figures
        if progress:
            print(f"measured {task_name} N={steps} in {time.perf_counter() - t0:.1f} s", flush=True)
    return result


def combine(results: list[dict], how: str) -> dict:
    """One measurement from several: per figure the ``min`` or the ``median`` of the time ratios
    (deterministic figures must agree across them)."""
    pick = min if how == "min" else statistics.median
    out = json.loads(json.dumps(results[0]))
    for key, figures in out["cases"].items():
        for fig in (*RATIOS, "time_s"):
            vals = [r["cases"][key].get(fig) for r in results]
            if all(v is not None for v in vals):
                figures[fig] = pick(vals)
        for fig in DETERMINISTIC:
            if len({json.dumps(r["cases"][key].get(fig)) for r in results}) != 1:
                raise RuntimeError(f"{key}: {fig} differs between repeated measurements")
    out["repeats"] = {"n": len(results), "combined_by": how}
    return out


def compare(fresh: dict, baseline: dict, tolerance: float = 0.2) -> tuple[bool, list[dict]]:
    """Rows of what moved (or is missing), by :func:`sdo_bench.compare.rule.compare` (``a`` the baseline,
    ``b`` the fresh measurement); ``ok`` is False if any row is a failure."""
    from .rule import compare as _compare

    def cases(m):
        return {k: v for k, v in m["cases"].items() if not k.endswith("/_sample")}

    return _compare(
        cases(baseline), cases(fresh), exact=DETERMINISTIC, ratios=RATIOS, tolerance=tolerance,
        missing_a="in baseline (run --update)", missing_b="now", improved="improved (consider --update)",
    )  # fmt: skip


def format_rows(rows: list[dict]) -> str:
    from .rule import format_rows as _format

    return _format(rows, ("baseline", "fresh"))


def write(path: Path, result: dict) -> None:
    from ..records.io import write_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, result)


def check(
    baseline: Path = DEFAULT_BASELINE,
    tolerance: float = 0.2,
    update: bool = False,
    save: Path | None = None,
    as_json: bool = False,
) -> tuple[int, str]:
    """The CI policy: the baseline (``update``) is the median of three measurements; a check takes the
    better of two, so that a regression must show in both while one disturbed measurement does not
    fail the check. Returns (the exit code: 0 passed, 1 failed; the text to print)."""
    from ..records.io import check_writable
    from .rule import check_tolerance

    check_tolerance(tolerance)
    for path in filter(None, [save, baseline if update else None]):
        check_writable(path)
    base = None if update else load(baseline)
    fresh = combine([measure() for _ in range(3 if update else 2)], "median" if update else "min")
    if save:
        write(Path(save), fresh)
    if update:
        write(baseline, fresh)
        if as_json:
            return 0, json.dumps({"baseline": str(baseline), "written": True, "measurement": fresh}, indent=1)
        return 0, f"baseline written to {baseline} ({len(fresh['cases'])} entries)"
    ok, rows = compare(fresh, base, tolerance)
    if as_json:
        body = {"ok": ok, "tolerance": tolerance, "baseline": str(baseline), "moved": rows}
        body["measurement"] = fresh
        return 0 if ok else 1, json.dumps(body, indent=1, default=str)
    return 0 if ok else 1, (
        f"{format_rows(rows)}\nregression check: {'PASS' if ok else 'FAIL'} (tolerance "
        f"{tolerance:.0%}; baseline from {base['machine']['device_name']})"
    )


def load(path: Path) -> dict:
    if not path.is_file():
        raise ValueError(
            f"baseline {path} does not exist; create it with `sdo-bench regress --update --baseline {path}`"
        )
    try:
        base = json.loads(path.read_text())
    except ValueError as e:
        raise ValueError(
            f"baseline {path} is not valid JSON ({e}); rewrite it with `sdo-bench regress --update`"
        ) from None
    if not isinstance(base, dict) or "cases" not in base:
        raise ValueError(f"baseline {path} is not a regress baseline (no 'cases'); rewrite it with --update")
    return base
