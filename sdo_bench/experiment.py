"""One run: a task, a method (with options) and a seed, optimized for some iterations; one record.

The order of work, so that every figure in the record is measured the same way for every method:

1. build the task and the method (bad input raises ``ValueError`` before anything runs);
2. ``reward_init`` and the time of one no-grad sample (``time_sample_s``, median of 3);
3. the first gradient at the initial parameters, which doubles as the warm-up: it gives the peak
   memory (measured around this gradient alone, before any allocator cache of later iterations can
   hide its growth: the CUDA allocator's maximum, or the RSS high-water mark on the CPU),
   ``graph_bytes`` and the network-evaluation counts, is checked against ``memory_budget_bytes``, and is
   compared with the exact ``bptt`` gradient at the same parameters (``grad_cosine_vs_exact``,
   ``grad_relnorm_vs_exact``); it is not used for an update;
4. ``iterations`` timed updates (gradient + optimizer step); the reward curve holds the reward of each iterate and, last, of the final parameters;
5. the judge on the final samples, where the task has one.

OOM (CUDA or ``MemoryError``, or graph bytes over the budget) ends the run with status ``oom``; a
non-finite reward or gradient with ``diverged``; anything else with ``error``. In every case the
record is written atomically and the figures measured up to then are kept.
"""
from __future__ import annotations

import math
import sys
import time
import traceback

import numpy as np
import torch
from tqdm.auto import tqdm

from . import methods as _methods
from . import tasks as _tasks
from .measure import PeakMemory
from .provenance import provenance
from .records import write_atomic, write_npz_atomic


class _Stop(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def _finite(res) -> bool:
    if not math.isfinite(res.reward):
        return False
    return all(bool(torch.isfinite(g).all()) for g in res.grads)


def _flat(ts):
    return torch.cat([t.detach().reshape(-1).double() for t in ts])


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


def prepare(task: str, method: str, options: dict | None = None, *, seed: int = 0,
            steps: int | None = None, iterations: int | None = None, dtype: str | None = None,
            device: str | None = None, task_overrides: dict | None = None):
    """Build and validate a (task, method) pair; every bad input raises ``ValueError`` here."""
    if device is not None and torch.device(device).type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} is not available on this machine; use --device cpu")
    m = _methods.build(method, **(options or {}))
    t = _tasks.build(task, seed=seed, steps=steps, iterations=iterations, dtype=dtype, device=device,
                     **(task_overrides or {}))
    m.check(t)
    return t, m


def run(task: str, method: str, options: dict | None = None, *, seed: int = 0,
        steps: int | None = None, iterations: int | None = None, dtype: str | None = None,
        device: str | None = None, memory_budget_bytes: int | None = None, fidelity: bool = True,
        out: str | None = None, task_overrides: dict | None = None, progress: bool | None = None,
        built=None, samples_out: str | None = None, samples_keep: int = 8) -> dict:
    """Run one experiment and return its record (also written to ``out`` when given).

    ``samples_out``: also save the first ``samples_keep`` images before and after optimization
    (held-out noises where the task has them) to this ``.npz`` (arrays ``initial`` and ``final``)."""
    t, m = built if built is not None else prepare(
        task, method, options, seed=seed, steps=steps, iterations=iterations, dtype=dtype,
        device=device, task_overrides=task_overrides)
    config = {"task": task, "task_config": t.config, "method": method,
              "method_options": m.resolved_options(t), "memory_budget_bytes": memory_budget_bytes}
    rec = {
        "task": task, "method": method, "method_options": m.resolved_options(t), "seed": t.seed,
        "steps": t.steps, "batch": t.batch, "target": t.target, "model": t.model_name,
        "reward_name": t.reward_name, "dtype": str(t.dtype).replace("torch.", ""),
        "device": str(t.device), "status": "ok", "error": None, "iterations": 0,
        "iterations_requested": t.iterations, "memory_budget_bytes": memory_budget_bytes,
        "time_per_iter_s": None, "forward_s": None, "backward_s": None, "time_sample_s": None,
        "peak_memory_bytes": None, "peak_memory_delta_bytes": None, "peak_memory_source": None,
        "graph_bytes": None, "nfe_forward": None, "nfe_backward": None,
        "reward_init": None, "reward_final": None, "reward_curve": [], "elapsed_s": [],
        "reward_heldout_init": None, "reward_heldout_final": None,
        "judge": None, "grad_cosine_vs_exact": None, "grad_relnorm_vs_exact": None,
        "fidelity_note": None, "gradient_info": [],
        "provenance": provenance(config, t.device),
    }
    snapshots = {}
    if samples_out is not None:
        snapshots["initial"] = t.sample(held_out=True)[:samples_keep].float().cpu().numpy()
    try:
        _run_into(rec, t, m, memory_budget_bytes, fidelity, progress)
        if samples_out is not None:
            snapshots["final"] = t.sample(held_out=True)[:samples_keep].float().cpu().numpy()
    except _Stop as stop:
        rec["status"], rec["error"] = stop.status, str(stop)
    except Exception as exc:  # noqa: BLE001 - recorded, and the workflow goes on
        if _is_oom(exc):
            rec["status"], rec["error"] = "oom", f"{type(exc).__name__}: {exc}"[:2000]
        else:
            rec["status"], rec["error"] = "error", f"{type(exc).__name__}: {exc}"[:2000]
            traceback.print_exc(file=sys.stderr)
        if t.device.type == "cuda":
            torch.cuda.empty_cache()
    if samples_out is not None:
        snapshots.setdefault("final", snapshots["initial"] * np.nan)
        write_npz_atomic(samples_out, **snapshots)
    if out is not None:
        write_atomic(out, rec)
    return rec


def _run_into(rec, task, method, budget, fidelity, progress):
    sync = (lambda: torch.cuda.synchronize(task.device)) if task.device.type == "cuda" else (lambda: None)
    rec["reward_init"] = float(task.reward())
    if task.eval_noise is not None:
        rec["reward_heldout_init"] = float(task.reward(held_out=True))
    times = []
    for _ in range(3):
        sync()
        t0 = time.perf_counter()
        task.reward()
        sync()
        times.append(time.perf_counter() - t0)
    rec["time_sample_s"] = float(np.median(times))

    with PeakMemory(task.device) as peak:  # the first gradient's memory: nothing cached yet
        first = method.gradient(task, measure_graph=True)  # also the warm-up
    rec["peak_memory_bytes"], rec["peak_memory_delta_bytes"] = peak.peak_bytes, peak.delta_bytes
    rec["peak_memory_source"] = peak.source
    rec["gradient_info"].append(first.info)
    if first.status == "not_applicable":
        raise _Stop("not_applicable", first.reason)
    rec["graph_bytes"], rec["nfe_forward"], rec["nfe_backward"] = (
        first.graph_bytes, first.nfe_forward, first.nfe_backward)
    if budget is not None and first.graph_bytes > budget:
        raise _Stop("oom", f"graph bytes {first.graph_bytes} exceed memory_budget_bytes {budget}")
    if not _finite(first):
        raise _Stop("diverged", "non-finite reward or gradient at the initial parameters")
    if fidelity:
        _fidelity(rec, task, method, first, budget)

    optimizer = task.make_optimizer()
    params = task.parameters()
    curve, elapsed, it_s, fwd_s, bwd_s = rec["reward_curve"], rec["elapsed_s"], [], [], []
    clock = 0.0
    quiet = (not sys.stderr.isatty()) if progress is None else (not progress)
    bar = tqdm(range(task.iterations), desc=f"{rec['task']} {rec['method']}", disable=quiet,
               leave=False)
    try:
        for _ in bar:
            sync()
            t0 = time.perf_counter()
            res = method.gradient(task, measure_graph=False)
            if res.status != "ok":
                raise _Stop(res.status, res.reason or res.status)
            if not _finite(res):
                raise _Stop("diverged", f"non-finite reward or gradient at iteration {len(curve)}")
            for p, g in zip(params, res.grads):
                p.grad = -g  # the optimizer minimizes; the gradient is of the reward
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            sync()
            dt = time.perf_counter() - t0
            elapsed.append(clock)
            clock += dt
            curve.append(res.reward)
            it_s.append(dt)
            fwd_s.append(res.forward_s)
            bwd_s.append(res.backward_s)
            rec["iterations"] += 1
            if res.info:
                rec["gradient_info"].append(res.info)
            bar.set_postfix(reward=f"{res.reward:.4g}")
    finally:
        bar.close()
        if it_s:
            rec["time_per_iter_s"] = {"median": float(np.median(it_s)),
                                      "p10": float(np.percentile(it_s, 10)),
                                      "p90": float(np.percentile(it_s, 90))}
            rec["forward_s"] = float(np.median(fwd_s))
            rec["backward_s"] = float(np.median(bwd_s))
    final = float(task.reward())
    rec["reward_final"] = final
    elapsed.append(clock)
    curve.append(final)
    if not math.isfinite(final):
        raise _Stop("diverged", "non-finite reward at the final parameters")
    if task.eval_noise is not None:
        rec["reward_heldout_final"] = float(task.reward(held_out=True))
    if task.judge is not None:
        rec["judge"] = task.judge(task.sample(held_out=True))


def _fidelity(rec, task, method, first, budget):
    if method.name == "bptt":
        exact = first
    else:
        try:
            exact = _methods.build("bptt").gradient(task, measure_graph=budget is not None)
        except Exception as exc:  # noqa: BLE001
            if not _is_oom(exc):
                raise
            if task.device.type == "cuda":
                torch.cuda.empty_cache()
            rec["fidelity_note"] = f"exact bptt gradient did not fit in memory ({type(exc).__name__})"
            return
        if budget is not None and exact.graph_bytes > budget:
            rec["fidelity_note"] = (f"exact bptt gradient needs {exact.graph_bytes} graph bytes, over "
                                    f"memory_budget_bytes {budget}")
            return
    a, b = _flat(first.grads), _flat(exact.grads)
    nb = float(b.norm())
    if nb == 0.0:
        rec["fidelity_note"] = "exact gradient is zero"
        return
    rec["grad_cosine_vs_exact"] = float(a @ b) / (float(a.norm()) * nb) if float(a.norm()) else 0.0
    rec["grad_relnorm_vs_exact"] = float(a.norm()) / nb
