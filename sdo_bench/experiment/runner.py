"""The experiment: :func:`run` (one task, one method variant, one seed: an optimization, one
:class:`~sdo_bench.records.record.Record`), :func:`run_seeds` (one run per seed, in one process) and
:func:`run_variants` (every variant of a task, in one process: a workflow job)::

    task = sdo_bench.tasks.build("gmm-latent", steps=20, seed=0)
    record = experiment.run(task, Variant("sdo", {"step": "last"}), out="record.json")

The order of work, so that every figure in the record is measured the same way for every method:

1. build the task and the method (bad input raises ``ValueError`` before anything runs);
2. the initial reward, objective and held-out reward, one pass each (:mod:`.evaluation`: shared by
   every variant of the task and seed in one process; the first pass is timed);
3. the first gradient at the initial parameters, which doubles as the warm-up: it gives the
   secondary peak memory (the CUDA allocator's maximum, or the RSS high-water mark on the CPU),
   ``graph_bytes`` and the network-evaluation counts, is checked against ``memory_budget_bytes``, and
   is compared with the exact ``bptt`` gradient at the same parameters (``grad_cosine_vs_exact``); it is
   not used for an update; then one more gradient and optimizer step under the tensor tracker
   (:mod:`.tensor_memory`): ``peak_tensor_bytes`` and its split (parameters and random stream restored);
4. ``iterations`` timed updates: the method's reward gradient and the optimizer step; the prior's or
   the regularizer's exact gradient (:mod:`.priors`, :mod:`.regularizers`) is added between them,
   outside the method and timed apart (``time_penalty_s``); the reward curve holds each iterate's
   reward and, last, the final parameters';
5. the final reward, objective and penalty, the held-out reward and the judge, from one pass.

Fields: :class:`sdo_bench.records.record.Record`'s. OOM (CUDA, ``MemoryError``, graph bytes over the budget)
ends a run as ``oom``, a non-finite reward or gradient as ``diverged``, anything else as ``error``.
"""

from __future__ import annotations

import math
import sys
import traceback
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import tasks as _tasks
from ..cost.predict import over_budget
from ..measure.clock import Clock, busy_note
from ..measure.counters import PeakMemory, is_oom
from ..methods import Variant, check_variants
from ..methods import build as build_method
from ..records.io import check_outputs, check_writable, summary, write_atomic, write_npz_atomic
from ..records.provenance import provenance
from ..records.record import Record
from ..spec.job import RunJob
from . import live as _live
from . import resume
from .evaluation import NonFinite, evaluate_final, evaluate_initial, fidelity_once, tensor_memory
from .live import quiet


class _Stop(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def _finite(res) -> bool:
    if not math.isfinite(res.reward):
        return False
    return all(bool(torch.isfinite(g).all()) for g in res.grads)


def run(
    task: _tasks.Task,
    variant: Variant,
    *,
    method=None,
    memory_budget_bytes: int | None = None,
    fidelity: bool = True,
    out=None,
    samples_out=None,
    samples_keep: int = 8,
    progress: bool | None = None,
    task_label: str | None = None,
    log_dir=None,
    job: dict | None = None,
) -> dict:
    """Optimize ``task`` with ``variant`` and return its record (also written atomically to ``out``).

    Bad input (options out of range for the task) raises ``ValueError`` before any work.
    ``method``: the variant already built for this task (one build per seed; default: built here).
    ``samples_out``: also save the first ``samples_keep`` images before and after optimization
    (held-out noises where the task has them) to this ``.npz`` (arrays ``initial`` and ``final``).
    ``task_label``: the task's name in tables (a config entry's ``label``), default the task name.
    ``log_dir``: also write live TensorBoard metrics there (:mod:`.live`). ``job``: the job spec this
    run belongs to (:class:`~sdo_bench.spec.job.RunJob`), kept in the record's provenance."""
    for path in filter(None, [out, samples_out]):
        check_writable(path)
    _live.check(log_dir)
    t, m = task, method or build_method(variant)
    config = _config(t, m, memory_budget_bytes)
    rec = Record(
        task=t.name,
        task_label=task_label or t.name,
        method=m.name,
        variant=variant.label,
        method_options=config["method_options"],
        algorithm=m.algorithm(t),
        method_kind=m.kind_on(t),
        seed=t.seed,
        steps=t.steps,
        start_step=t.sampler.start_step,
        batch=t.batch,
        target=t.target,
        model=t.model_name,
        reward_name=t.reward_name,
        dtype=str(t.dtype).replace("torch.", ""),
        device=str(t.device),
        iterations_requested=t.iterations,
        memory_budget_bytes=memory_budget_bytes,
        provenance=dict(provenance(config, t.device), **({"job": job} if job is not None else {})),
    )
    snapshots = {}
    over = memory_budget_bytes is not None and over_budget(t, variant, memory_budget_bytes)
    try:
        if over:  # predicted first: a run that cannot fit does no work (and draws no sample)
            raise _Stop("oom", over)
        with _live.Live(log_dir, rec.task_label, rec.variant, rec.seed) as board:
            _run_into(rec, t, m, memory_budget_bytes, fidelity, progress, snapshots, board)
            board.snapshots(snapshots, samples_keep, rec.iterations)
        snapshots = {k: v[:samples_keep].float().cpu().numpy() for k, v in snapshots.items()}
    except _Stop as stop:
        rec.status, rec.error = stop.status, str(stop)
    except Exception as exc:  # noqa: BLE001 - recorded, and the workflow goes on
        rec.status = "oom" if is_oom(exc) else "error"
        rec.error = f"{type(exc).__name__}: {exc}"[:2000]
        if rec.status == "error":
            traceback.print_exc(file=sys.stderr)
        if t.device.type == "cuda":
            torch.cuda.empty_cache()
    if samples_out is not None:  # no images (an empty array) where none were drawn
        snapshots = {k: v for k, v in snapshots.items() if isinstance(v, np.ndarray)}
        snapshots.setdefault("initial", np.empty(0, dtype=np.float32))
        snapshots.setdefault("final", snapshots["initial"] * np.nan)
        write_npz_atomic(samples_out, **snapshots)
    record = rec.to_dict()
    if out is not None:
        write_atomic(out, record)
    return record


def _config(task, method, memory_budget_bytes) -> dict:
    """What a record's ``provenance.config_hash`` hashes (options checked against the task first, once
    per variant and task shape)."""
    method.check_once(task)
    return {
        "task": task.name,
        "task_config": task.config,
        "method": method.name,
        "method_options": method.resolved_options(task),
        "memory_budget_bytes": memory_budget_bytes,
    }


def run_job(job: RunJob, *, progress: bool | None = None, flat_keep: bool = False) -> list[dict]:
    """Every variant of ``job`` and every seed, in this process (one interpreter start and one set of
    imports; per seed one initial evaluation and one exact gradient shared by the variants), one record
    per variant and seed, returned in the job's order; run seed by seed, the variants of a seed back to
    back.

    The job is checked once, before any work: the task's settings by their owners (the settings rule and
    the family's check), every variant's method and options, and each method against the task
    (``method.check``, once per variant: a method checked for a task of that shape is not checked again
    on each gradient), every output path writable. A seed whose record is already there, made from the
    same settings (its ``provenance.config_hash``) and not failed, is not redone: an interrupted job
    resumes where it stopped. ``keep_dir``: also keep a copy of each finished seed's files there, one
    folder per variant (same names; ``flat_keep``: in the folder itself, for a job of one variant); they
    are no job's declared outputs, so they survive whatever kills the job (SIGKILL, the OOM killer, a
    cluster's time limit: Snakemake then deletes the outputs the failed job made), and a rerun restores a
    seed from its copy instead of running it again."""
    from ..records.provenance import config_hash

    resolved = _tasks.settings_for(job.task, **dict(job.settings, seed=job.seeds[0]))
    check_variants(list(job.variants))
    check_outputs(
        [("--out", o) for o in job.outs]
        + [("--samples-out", o) for o in job.samples_outs or ()]
        + [("--keep-dir", job.keep_dir), ("--log-dir", job.log_dir)]
    )
    _live.check(job.log_dir)
    spec = job.to_dict()
    keeps: dict[str, Path | None] = {}
    for variant, _ in job.runs():
        keep = None if job.keep_dir is None else Path(job.keep_dir)
        if keep is not None and not flat_keep:
            keep = keep / variant.label
            keep.mkdir(parents=True, exist_ok=True)
        keeps[variant.label] = keep
    # seed by seed, every variant of a seed back to back: the runs a time ratio pairs (one seed, two
    # variants) then share the machine's state (another job beside them, a busy neighbour), and the
    # seeds are the blocks the time intervals take that state out with (report.stats.block_ratio)
    order = sorted(
        ((i, j, variant, *run) for i, (variant, runs) in enumerate(job.runs()) for j, run in enumerate(runs)),
        key=lambda r: (r[1], r[0]),
    )
    records: list = [None] * len(order)  # in the job's order: variant by variant
    bar = tqdm(order, desc=job.task_label or job.task, disable=quiet(progress))
    for i, j, variant, seed, out, samples in bar:
        keep = keeps[variant.label]
        task = _tasks.make(job.task, dict(resolved, seed=seed), explicit=job.settings)
        method = build_method(variant)
        want = config_hash(_config(task, method, job.memory_budget_bytes))
        done = resume.existing(out, samples, want)
        if done is None and keep is not None:
            done = resume.restore(keep, out, samples, want)
        if done is not None:
            if len(order) > 1:
                kept = f"{summary(done)} (kept: made earlier from the same settings)"
                print(kept, file=sys.stderr, flush=True)
            records[i * len(job.seeds) + j] = done
            continue
        rec = run(
            task,
            variant,
            method=method,
            memory_budget_bytes=job.memory_budget_bytes,
            fidelity=job.fidelity,
            out=out,
            samples_out=samples,
            progress=progress,
            task_label=job.task_label,
            log_dir=job.log_dir,
            job=spec,
        )
        if rec["status"] == "ok":  # the bar shows the last final reward
            bar.set_postfix(variant=variant.label, seed=seed, reward=f"{rec['reward_final']:.4g}")
        if keep is not None and rec["status"] != "error":
            resume.keep(keep, out, samples)
        if len(order) > 1:  # a job's log shows each run as it ends
            print(summary(rec), file=sys.stderr, flush=True)
        records[i * len(job.seeds) + j] = rec
    return records


def run_seeds(
    name: str,
    settings: dict,
    variant: Variant,
    seeds: list[int],
    outs: list,
    samples_outs: list | None = None,
    **kw,
) -> list[dict]:
    """:func:`run_job` for one variant: seed ``seeds[i]``'s record goes to ``outs[i]`` (and its images to
    ``samples_outs[i]``); ``keep_dir`` keeps the copies directly in that folder."""
    return run_variants(name, settings, [variant], seeds, outs, samples_outs, _flat_keep=True, **kw)


def run_variants(
    name: str,
    settings: dict,
    variants: list[Variant],
    seeds: list[int],
    outs: list,
    samples_outs: list | None = None,
    *,
    progress: bool | None = None,
    _flat_keep: bool = False,
    **kw,
) -> list[dict]:
    """:func:`run_job` from its parts: ``outs`` (and ``samples_outs``) hold one path per variant and
    seed, variant by variant; ``keep_dir``: each variant keeps its copies in its own folder there (one
    variant: in the folder itself)."""
    job = RunJob(
        task=name,
        variants=tuple(variants),
        seeds=tuple(seeds),
        outs=tuple(str(o) for o in outs),
        samples_outs=None if not samples_outs else tuple(str(o) for o in samples_outs),
        settings=dict(settings),
        **{k: (str(v) if k in ("keep_dir", "log_dir") and v is not None else v) for k, v in kw.items()},
    )
    return run_job(job, progress=progress, flat_keep=_flat_keep)


def _spread(times: list[float], work: list) -> dict:
    """The median, p10 and p90 of ``times``, and ``fastest``: :func:`fastest_of_equal_work`."""
    return {
        "fastest": fastest_of_equal_work(times, work),
        "median": float(np.median(times)),
        "p10": float(np.percentile(times, 10)),
        "p90": float(np.percentile(times, 90)),
    }


def fastest_of_equal_work(times: list[float], work: list) -> float:
    """The time per iteration with the machine's interference taken out: each iteration counts as the
    fastest time any iteration of the same work took (``work``: its network evaluations forward and
    backward), averaged over the iterations. Other work on the machine only ever adds time (the
    reason ``timeit`` reports its fastest repeat), so where every iteration does the same work
    (most methods) this is the fastest iteration; where the work is drawn at random (ReFL's stop
    step), each draw counts at the fastest time its own work was seen to take, never at a cheaper
    draw's."""
    best: dict = {}
    for t, w in zip(times, work):
        best[w] = min(t, best.get(w, t))
    return float(np.mean([best[w] for w in work]))


def _run_into(rec, task, method, budget, fidelity, progress, snapshots, board):
    clock = Clock(task.device)
    first_sample_s = evaluate_initial(rec, task, clock, snapshots)

    with PeakMemory(task.device) as peak:  # the first gradient's memory: nothing cached yet
        first = method.gradient(task, measure_graph=True)  # also the warm-up
    rec.peak_memory_bytes, rec.peak_memory_delta_bytes = peak.peak_bytes, peak.delta_bytes
    rec.peak_memory_source = peak.source
    rec.gradient_info.append(first.info)
    if first.status == "not_applicable":
        raise _Stop("not_applicable", first.reason)
    rec.graph_bytes, rec.nfe_forward, rec.nfe_backward = (
        first.graph_bytes,
        first.nfe_forward,
        first.nfe_backward,
    )
    if budget is not None and first.graph_bytes > budget:
        raise _Stop("oom", f"graph bytes {first.graph_bytes} exceed memory_budget_bytes {budget}")
    if not _finite(first):
        raise _Stop("diverged", "non-finite reward or gradient at the initial parameters")
    tensor_memory(rec, task, method)
    if fidelity:
        fidelity_once(rec, task, method, first, budget)

    optimizer = task.make_optimizer()
    params = task.parameters()
    curve, elapsed, it_s, fwd_s, bwd_s, reg_s = rec.reward_curve, rec.elapsed_s, [], [], [], []
    cpu_s = rec.compute_s  # each iteration's compute time (the process's CPU time, or CUDA events)
    work = []  # each iteration's network evaluations (forward, backward): iterations of equal work
    total = 0.0
    bar = tqdm(range(task.iterations), desc=f"{rec.task} {rec.variant}", disable=quiet(progress), leave=False)
    try:
        for _ in bar:
            res, dt_method = clock(method.gradient, task, False)
            compute = clock.last_compute
            if res.status != "ok":
                raise _Stop(res.status, res.reason or res.status)
            if not _finite(res):
                raise _Stop("diverged", f"non-finite reward or gradient at iteration {len(curve)}")
            # the prior's or the regularizer's exact gradient, outside the method and timed apart: the
            # same for every method
            penalty, dt_penalty = clock(task.penalty_gradient)
            penalty = penalty or [0.0] * len(params)
            for p, g, g_pen in zip(params, res.grads, penalty):
                p.grad = -(g + g_pen)  # the optimizer minimizes; the gradient is of the objective
            board.iteration(len(curve), res.reward, task.last_penalty, [p.grad for p in params], dt_method)
            _, dt_step = clock(optimizer.step)
            compute += clock.last_compute
            optimizer.zero_grad(set_to_none=True)
            dt = dt_method + dt_step
            elapsed.append(total)
            total += dt
            curve.append(res.reward)
            it_s.append(dt)
            cpu_s.append(compute)
            work.append((res.nfe_forward, res.nfe_backward))
            fwd_s.append(res.forward_s)
            bwd_s.append(res.backward_s)
            reg_s.append(dt_penalty)
            rec.iterations += 1
            if res.info:
                rec.gradient_info.append(res.info)
            bar.set_postfix(reward=f"{res.reward:.4g}")
    finally:
        bar.close()
        if it_s:
            rec.time_per_iter_s = _spread(it_s, work)
            rec.compute_time_per_iter_s = _spread(cpu_s, work)
            rec.time_clock = clock.source
            rec.time_note = busy_note(
                rec.time_per_iter_s["median"], rec.compute_time_per_iter_s["median"], clock.source
            )
            rec.forward_s = float(np.median(fwd_s))
            rec.backward_s = float(np.median(bwd_s))
            rec.time_penalty_s = float(np.median(reg_s))
    elapsed.append(total)
    try:
        final_sample_s = evaluate_final(rec, task, clock, snapshots)
    except NonFinite as e:
        raise _Stop("diverged", str(e)) from None
    # one no-grad sample, the least disturbed of the two timed (the first and the final reward)
    rec.time_sample_s = float(min(first_sample_s, final_sample_s))
