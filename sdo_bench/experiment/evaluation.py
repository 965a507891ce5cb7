"""A run's evaluation, outside its optimization (sdo_bench.experiment): the initial and final rewards,
objective and held-out reward, the judge's samples, and the first gradient against the exact one.

What every variant of one (task, settings, seed) shares is computed once per process: they start from
the same parameters, so a job that runs every variant of a task (the workflow's) evaluates the initial
parameters and takes the exact gradient there once per seed. One no-grad pass of the final parameters
gives the judge's samples, the held-out reward (its noises are the judge's first ones) and the saved
images.
"""

from __future__ import annotations

import json
import math

import torch

from ..measure.tracker import measure_gradient
from .gradcheck import fidelity as against_exact


class NonFinite(Exception):
    """The final reward is not finite (the run diverged)."""


#: what every variant of one (task, settings, seed) shares before its first update, computed once per
#: process (a job runs every variant of a task): the initial evaluation and the exact gradient there
_SHARED: dict[str, dict] = {}
_SHARED_MAX = 16


def _shared(task) -> dict:
    """The shared entry of ``task`` as it is now: its settings and a fingerprint of its parameters and
    x_T (a task changed since it was built shares nothing with a fresh one)."""
    with torch.no_grad():
        tensors = [*task.parameters(), task.x_T()]
        prints = [(float(t.double().sum()), float(t.double().norm())) for t in tensors]
    key = json.dumps([task.name, task.config, prints], sort_keys=True, default=str)
    if key not in _SHARED:
        while len(_SHARED) >= _SHARED_MAX:
            _SHARED.pop(next(iter(_SHARED)))
        _SHARED[key] = {}
    return _SHARED[key]


def evaluate_initial(rec, task, clock, snapshots):
    """The initial reward, objective and held-out reward, from one no-grad pass each (the first also
    times one sample); the initial images (held-out noises where the task has them). The parameters
    are those the task was built with, so every variant of the same task and seed shares them."""
    shared = _shared(task)
    if "initial" not in shared:
        (rewards, images), dt = clock(task.evaluate, task.x_T())
        initial = {"reward_init": float(rewards.mean()), "sample_s": dt}
        reg = task.regularization()
        initial["objective_init"] = task.objective(initial["reward_init"], reg)
        initial["prior_init"] = task.penalty()
        initial["regularizer_init"] = reg if task.regularizer != "none" else None
        if task.eval_noise is not None:
            held, images = task.evaluate(task.eval_noise)
            initial["reward_heldout_init"] = float(held.mean())
        shared["initial"] = initial
        shared["images"] = images
    initial = shared["initial"]
    for key, value in initial.items():
        if key != "sample_s":
            setattr(rec, key, value)
    snapshots["initial"] = shared["images"]
    return initial["sample_s"]


def fidelity_once(rec, task, method, first, budget):
    """The first gradient against the exact one at the same (initial) parameters: ``bptt``'s, computed
    once per task and seed in a process (without a memory budget, where it does not depend on one)."""
    shared = _shared(task) if budget is None else {}
    if method.name == "bptt" and budget is None:
        shared["exact"] = first
    exact = shared.get("exact")
    if exact is None:
        found = against_exact(task, method, first, budget, exact=None, keep=shared)
    else:
        found = against_exact(task, method, first, budget, exact=exact)
    for key, value in found.items():
        setattr(rec, key, value)


def evaluate_final(rec, task, clock, snapshots):
    """The final reward, objective, held-out reward and the judge's scores: the held-out reward and the
    judge's samples come from one pass where the held-out noises are the judge's first ones."""
    (rewards, images), dt = clock(task.evaluate, task.x_T())
    final = float(rewards.mean())
    reg = task.regularization()
    rec.reward_final = final
    rec.objective_final, rec.prior_final = task.objective(final, reg), task.penalty()
    rec.regularizer_final = reg if task.regularizer != "none" else None
    rec.reward_curve.append(final)
    if not math.isfinite(final):
        raise NonFinite("non-finite reward at the final parameters")
    judged = None
    if task.judge_noise is not None:
        judged = task.evaluate(task.judge_noise)
    held_out = None
    if task.eval_noise is not None:
        n = len(task.eval_noise)
        if (
            judged is not None
            and len(task.judge_noise) >= n
            and torch.equal(task.judge_noise[:n], task.eval_noise)
        ):
            held_out = judged[0][:n], judged[1][:n]
        else:
            held_out = task.evaluate(task.eval_noise)
        rec.reward_heldout_final = float(held_out[0].mean())
    snapshots["final"] = (held_out or (None, images))[1]
    if task.judge is not None:
        rec.judge = task.judge(judged[1] if judged is not None else images)
    return dt


def tensor_memory(rec, task, method):
    """Peak tensor bytes and their split, over one dedicated gradient and optimizer step (slower under
    the tracker, so outside the timed iterations; parameters and random draws are left as they were)."""
    m = measure_gradient(task, method)
    rec.peak_tensor_bytes = m["peak_tensor_bytes"]
    rec.tensor_memory = {
        k: m.get(k)
        for k in ("weights_bytes", "activation_bytes", "optimizer_state_bytes", "cuda_max_allocated_bytes")
    }
