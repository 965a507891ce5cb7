"""The experiments: :func:`run` (one task, one method variant, one seed: an optimization, one record),
:func:`sweep` (one run per number of steps N, one record each) and :func:`gradcheck` (every method's
first gradient against the exact one).

    task = sdo_bench.tasks.build("gmm-latent", steps=20, seed=0)
    record = experiment.run(task, Variant("sdo", {"step": "last"}), out="record.json")

The order of work, so that every figure in the record is measured the same way for every method:

1. build the task and the method (bad input raises ``ValueError`` before anything runs);
2. ``reward_init`` and the time of one no-grad sample (``time_sample_s``, median of 3);
3. the first gradient at the initial parameters, which doubles as the warm-up: it gives the
   secondary peak memory (measured around this gradient alone, before any allocator cache of later
   iterations can hide its growth: the CUDA allocator's maximum, or the RSS high-water mark on the
   CPU), ``graph_bytes`` and the network-evaluation counts, is checked against
   ``memory_budget_bytes``, and is compared with the exact ``bptt`` gradient at the same parameters
   (``grad_cosine_vs_exact``, ``grad_relnorm_vs_exact``); it is not used for an update;
3b. one more gradient and optimizer step under the tensor tracker (:mod:`.tensor_memory`): the
   primary memory figure ``peak_tensor_bytes`` and its split (``tensor_memory``); the parameters and
   the method's random stream are restored afterwards;
4. ``iterations`` timed updates (gradient of the objective + optimizer step: the method's reward
   gradient plus, for a latent task with a prior, the prior's exact gradient, :mod:`.priors`); the
   reward curve holds the reward of each iterate and, last, of the final parameters; ``objective_*``
   and ``prior_*`` the objective and the prior's penalty at the first and final parameters;
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

from . import tasks as _tasks
from .measure import PeakMemory, agreement, synchronizer
from .methods import Variant
from .provenance import provenance
from .records import check_writable, write_atomic, write_npz_atomic
from .tensor_memory import measure_gradient


class _Stop(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def _finite(res) -> bool:
    if not math.isfinite(res.reward):
        return False
    return all(bool(torch.isfinite(g).all()) for g in res.grads)


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


def run(
    task: _tasks.Task,
    variant: Variant,
    *,
    memory_budget_bytes: int | None = None,
    fidelity: bool = True,
    out=None,
    samples_out=None,
    samples_keep: int = 8,
    progress: bool | None = None,
    task_label: str | None = None,
) -> dict:
    """Optimize ``task`` with ``variant`` and return its record (also written atomically to ``out``).

    Bad input (options out of range for the task) raises ``ValueError`` before any work.
    ``samples_out``: also save the first ``samples_keep`` images before and after optimization
    (held-out noises where the task has them) to this ``.npz`` (arrays ``initial`` and ``final``).
    ``task_label``: the task's name in tables (a config entry's ``label``), default the task name."""
    for path in filter(None, [out, samples_out]):
        check_writable(path)
    t, m = task, variant.build()
    config = _config(t, m, memory_budget_bytes)
    options = config["method_options"]
    rec = {
        "task": t.name,
        "task_label": task_label or t.name,
        "method": m.name,
        "variant": variant.label,
        "method_options": options,
        "seed": t.seed,
        "steps": t.steps,
        "start_step": t.sampler.start_step,
        "batch": t.batch,
        "target": t.target,
        "model": t.model_name,
        "reward_name": t.reward_name,
        "dtype": str(t.dtype).replace("torch.", ""),
        "device": str(t.device),
        "status": "ok",
        "error": None,
        "iterations": 0,
        "iterations_requested": t.iterations,
        "memory_budget_bytes": memory_budget_bytes,
        "time_per_iter_s": None,
        "forward_s": None,
        "backward_s": None,
        "time_sample_s": None,
        "peak_tensor_bytes": None,
        "tensor_memory": None,
        "peak_memory_bytes": None,
        "peak_memory_delta_bytes": None,
        "peak_memory_source": None,
        "graph_bytes": None,
        "nfe_forward": None,
        "nfe_backward": None,
        "reward_init": None,
        "reward_final": None,
        "objective_init": None,
        "objective_final": None,
        "prior_init": None,
        "prior_final": None,
        "reward_curve": [],
        "elapsed_s": [],
        "reward_heldout_init": None,
        "reward_heldout_final": None,
        "judge": None,
        "grad_cosine_vs_exact": None,
        "grad_relnorm_vs_exact": None,
        "fidelity_note": None,
        "gradient_info": [],
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


def _config(task, method, memory_budget_bytes) -> dict:
    """What a record's ``provenance.config_hash`` hashes (options checked against the task first)."""
    method.check(task)
    return {
        "task": task.name,
        "task_config": task.config,
        "method": method.name,
        "method_options": method.resolved_options(task),
        "memory_budget_bytes": memory_budget_bytes,
    }


def run_seeds(
    name: str,
    settings: dict,
    variant: Variant,
    seeds: list[int],
    out_dir,
    *,
    task_label: str | None = None,
    memory_budget_bytes: int | None = None,
    fidelity: bool = True,
    progress: bool | None = None,
) -> list[dict]:
    """One :func:`run` per seed, in this process (one interpreter start and one set of imports for all),
    each written to ``out_dir/seed<S>.json`` with its samples in ``seed<S>.npz``. A seed whose record is
    already there, made from the same settings (its ``provenance.config_hash``), is not redone: an
    interrupted job resumes where it stopped."""
    from pathlib import Path

    from .provenance import config_hash

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_writable(out_dir / "probe.json")
    records = []
    for seed in tqdm(seeds, desc=f"{task_label or name} {variant.label}", disable=_quiet(progress)):
        task = _tasks.build(name, **dict(settings, seed=seed))
        out, samples = out_dir / f"seed{seed}.json", out_dir / f"seed{seed}.npz"
        done = _existing(out, samples, config_hash(_config(task, variant.build(), memory_budget_bytes)))
        if done is not None:
            print(f"{summary(done)} (kept: made earlier from the same settings)", flush=True)
            records.append(done)
            continue
        rec = run(
            task,
            variant,
            memory_budget_bytes=memory_budget_bytes,
            fidelity=fidelity,
            out=out,
            samples_out=samples,
            progress=False,
            task_label=task_label,
        )
        print(summary(rec), flush=True)
        records.append(rec)
    return records


def _existing(out, samples, want_hash: str) -> dict | None:
    import json

    if not (out.is_file() and samples.is_file()):
        return None
    try:
        rec = json.loads(out.read_text())
    except ValueError:
        return None
    return rec if (rec.get("provenance") or {}).get("config_hash") == want_hash else None


def _run_into(rec, task, method, budget, fidelity, progress):
    sync = synchronizer(task.device)
    rec["reward_init"] = float(task.reward())
    rec["objective_init"], rec["prior_init"] = task.objective(rec["reward_init"]), task.penalty()
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
        first.graph_bytes,
        first.nfe_forward,
        first.nfe_backward,
    )
    if budget is not None and first.graph_bytes > budget:
        raise _Stop("oom", f"graph bytes {first.graph_bytes} exceed memory_budget_bytes {budget}")
    if not _finite(first):
        raise _Stop("diverged", "non-finite reward or gradient at the initial parameters")
    _tensor_memory(rec, task, method)
    if fidelity:
        _fidelity(rec, task, method, first, budget)

    optimizer = task.make_optimizer()
    params = task.parameters()
    curve, elapsed, it_s, fwd_s, bwd_s = rec["reward_curve"], rec["elapsed_s"], [], [], []
    clock = 0.0
    bar = tqdm(
        range(task.iterations), desc=f"{rec['task']} {rec['variant']}", disable=_quiet(progress), leave=False
    )
    try:
        for _ in bar:
            sync()
            t0 = time.perf_counter()
            res = method.gradient(task, measure_graph=False)
            if res.status != "ok":
                raise _Stop(res.status, res.reason or res.status)
            if not _finite(res):
                raise _Stop("diverged", f"non-finite reward or gradient at iteration {len(curve)}")
            prior = task.prior_gradient() or [0.0] * len(params)  # exact, outside the method
            for p, g, g_prior in zip(params, res.grads, prior):
                p.grad = -(g + g_prior)  # the optimizer minimizes; the gradient is of the objective
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
            rec["time_per_iter_s"] = {
                "median": float(np.median(it_s)),
                "p10": float(np.percentile(it_s, 10)),
                "p90": float(np.percentile(it_s, 90)),
            }
            rec["forward_s"] = float(np.median(fwd_s))
            rec["backward_s"] = float(np.median(bwd_s))
    final = float(task.reward())
    rec["reward_final"] = final
    rec["objective_final"], rec["prior_final"] = task.objective(final), task.penalty()
    elapsed.append(clock)
    curve.append(final)
    if not math.isfinite(final):
        raise _Stop("diverged", "non-finite reward at the final parameters")
    if task.eval_noise is not None:
        rec["reward_heldout_final"] = float(task.reward(held_out=True))
    if task.judge is not None:
        rec["judge"] = task.judge(task.judge_sample())


def _tensor_memory(rec, task, method):
    """Peak tensor bytes and their split, over one dedicated gradient and optimizer step (slower under
    the tracker, so outside the timed iterations; parameters and random draws are left as they were)."""
    m = measure_gradient(task, method)
    rec["peak_tensor_bytes"] = m["peak_tensor_bytes"]
    rec["tensor_memory"] = {
        k: m.get(k)
        for k in ("weights_bytes", "activation_bytes", "optimizer_state_bytes", "cuda_max_allocated_bytes")
    }


def _fidelity(rec, task, method, first, budget):
    if method.name == "bptt":
        exact = first
    else:
        try:
            exact = Variant("bptt").build().gradient(task, measure_graph=budget is not None)
        except Exception as exc:  # noqa: BLE001
            if not _is_oom(exc):
                raise
            if task.device.type == "cuda":
                torch.cuda.empty_cache()
            rec["fidelity_note"] = f"exact bptt gradient did not fit in memory ({type(exc).__name__})"
            return
        if budget is not None and exact.graph_bytes > budget:
            rec["fidelity_note"] = (
                f"exact bptt gradient needs {exact.graph_bytes} graph bytes, over "
                f"memory_budget_bytes {budget}"
            )
            return
    agree = agreement(first.grads, exact.grads)
    if agree["cosine"] is None:
        rec["fidelity_note"] = "exact gradient is zero"
        return
    rec["grad_cosine_vs_exact"], rec["grad_relnorm_vs_exact"] = agree["cosine"], agree["relnorm"]


def sweep(
    name: str,
    settings: dict,
    variant: Variant,
    steps: list[int],
    out_dir,
    *,
    memory_budget_bytes: int | None = None,
    progress: bool | None = None,
    task_label: str | None = None,
) -> list[dict]:
    """One :func:`run` of task ``name`` (``settings`` as for ``tasks.build``) per N in ``steps``, in
    this process; the record of N goes to ``out_dir/N<N>.json``. Bad input for one N (an option out
    of range) raises ``ValueError`` before that N's record is written."""
    from pathlib import Path

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    check_writable(out_dir / "probe.json")
    settings = {k: v for k, v in settings.items() if k != "steps"}
    # one unrecorded gradient at the smallest N first, so that one-time allocations (lazy module
    # init, allocator arenas) do not land in the first N's peak-memory figure
    try:
        variant.build().gradient(_tasks.build(name, steps=min(steps), **settings))
    except Exception:  # noqa: BLE001 - the recorded runs below record any failure
        pass
    records = []
    for n in tqdm(steps, desc=f"{name} {variant.label} sweep", disable=_quiet(progress)):
        rec = run(
            _tasks.build(name, steps=n, **settings),
            variant,
            out=out_dir / f"N{n}.json",
            memory_budget_bytes=memory_budget_bytes,
            progress=False,
            task_label=task_label,
        )
        records.append(rec)
        print(f"{name} {variant.label} N={n}: {rec['status']}", flush=True)
    return records


def gradcheck(task: _tasks.Task, variants: list[Variant] | None = None) -> list[dict]:
    """Every variant's first gradient against the exact ``bptt`` gradient at the same parameters (default
    variants: each registered method's ``examples(N)``). One row per variant."""
    from .methods import REGISTRY

    if variants is None:
        variants = [Variant(n, o) for n, cls in REGISTRY.items() for o in cls.examples(task.steps)]
    exact = Variant("bptt").build().gradient(task)
    rows = []
    for v in variants:
        res = v.build().gradient(task)
        row = {
            "variant": v.label,
            "status": res.status,
            "nfe_forward": res.nfe_forward,
            "nfe_backward": res.nfe_backward,
            "graph_bytes": res.graph_bytes,
        }
        if res.status == "ok":
            row.update(agreement(res.grads, exact.grads))
        rows.append(row)
    return rows


def gradcheck_text(name: str, **settings) -> str:
    """``sdo-bench gradcheck``: :func:`gradcheck` of task ``name`` as a table."""
    task = _tasks.build(name, **settings)
    lines = [
        f"{name}: N={task.steps}, dtype={task.config['dtype']}",
        f"{'method':22s} {'status':15s} {'rel. error':>11s} {'cosine':>8s} {'nfe fwd/bwd':>12s} "
        f"{'graph bytes':>12s}",
    ]
    for r in gradcheck(task):
        nums = (
            ""
            if r["status"] != "ok"
            else (
                f"{r['rel_error']:11.3e} {r['cosine']:8.4f} {r['nfe_forward']:>5d}/{r['nfe_backward']:<6d} "
                f"{r['graph_bytes']:12d}"
            )
        )
        lines.append(f"{r['variant']:22s} {r['status']:15s} {nums}".rstrip())
    return "\n".join(lines)


def command(a) -> str:
    """``sdo-bench run`` and ``sdo-bench sweep`` from their parsed arguments: one :func:`run`, several
    seeds (:func:`run_seeds`) or one run per N (:func:`sweep`); returns the line to print."""
    from .values import pairs

    variant = Variant(a.method, pairs(a.option, "--option"), a.label)
    variant.build()  # a bad method or option fails here, before anything is built
    settings = dict(pairs(a.set, "--set"), iterations=a.iterations, dtype=a.dtype, device=a.device)
    kw = {"memory_budget_bytes": a.memory_budget_bytes, "task_label": a.task_label}
    if a.command == "sweep":
        recs = sweep(a.task, dict(settings, seed=a.seed), variant, a.steps, a.out_dir, **kw)
        return f"{a.task} {variant.label}: {len(recs)} records in {a.out_dir}"
    if (a.out is None) == (a.seeds is None) or (a.seeds is None) != (a.out_dir is None):
        raise ValueError("give either --out (one seed, --seed) or --seeds with --out-dir")
    kw["fidelity"] = not a.no_fidelity
    if a.seeds:  # several records in one process
        recs = run_seeds(a.task, dict(settings, steps=a.steps), variant, a.seeds, a.out_dir, **kw)
        return f"{a.task} {variant.label}: {len(recs)} records in {a.out_dir}"
    task = _tasks.build(a.task, steps=a.steps, seed=a.seed, **settings)
    kw.update(out=a.out, samples_out=a.samples_out)
    return summary(run(task, variant, **kw))


def summary(rec: dict) -> str:
    """One line on how a run ended."""
    line = f"{rec['task_label']} {rec['variant']} seed={rec['seed']}: {rec['status']}"
    if rec["status"] == "ok":
        return line + f", reward {rec['reward_init']:.4g} -> {rec['reward_final']:.4g}"
    return line + (f" ({rec['error'].splitlines()[0][:200]})" if rec["error"] else "")


def _quiet(progress: bool | None) -> bool:
    return (not sys.stderr.isatty()) if progress is None else (not progress)
