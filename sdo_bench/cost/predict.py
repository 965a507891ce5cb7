"""Paper-scale cost without a GPU and without weights: ``sdo-bench cost`` (a *prediction*).

The task is built as ``sdo-bench run`` builds it — the same world code, sampler, reward, decoder and
method — but inside :func:`fake_models`: every model is built from its architecture's config with no
weights (:func:`sdo_bench.weights.configs_only`; SD1.5's configs ship in ``sdo_bench/assets/sd15``,
open_clip's with open_clip), on fake tensors (``torch._subclasses.fake_tensor.FakeTensorMode``), which
carry shapes, dtypes and storages but no data. One real gradient of the method then runs through
``method.gradient`` followed by one optimizer step, under :class:`~sdo_bench.measure.tracker.LiveTensorBytes`
(:func:`~sdo_bench.measure.tracker.measure_gradient`, the same measurement a run records):

* ``peak_tensor_bytes`` and its split — weights, activations (the rise during the gradient), optimizer
  state (Adam's two moments for parameter targets) — exact for the tensors PyTorch allocates; CUDA's
  allocator adds its rounding (512 B blocks), cuBLAS/cuDNN workspaces and the CUDA context;
* ``flops_forward`` / ``flops_backward`` from torch's formula table, attention included;
* ``nfe_forward`` / ``nfe_backward``.

Fake CPU tensors are used (fake CUDA tensors run the forward but not the backward in this torch): the
attention kernel decides memory at 512 px, so it is chosen explicitly (``attention``): ``flash`` (the
default: what a CUDA fp16 run of diffusers uses through ``scaled_dot_product_attention``; saves O(L)
per head) or ``math`` (saves every L×L attention matrix). Times are a *lower bound* per iteration on a
named GPU: the larger of FLOPs at the card's peak dense rate and the network's weights read once per
network evaluation at its memory bandwidth. They are labelled predicted and never mixed with measured
columns.
"""

from __future__ import annotations

from .. import tasks as _tasks
from ..measure.tracker import modules_unchanged
from ..methods import Variant
from ..methods import build as build_method
from ..sampling.base import check_steps
from ..spec.settings import ATTENTION, COST_DTYPES, choice
from ..weights import WeightsError
from .cards import GPUS
from .extrapolation import extrapolated, find_base
from .fake import build_settings, fake_models


def check(task: str, steps: list[int], dtype: str, attention: str, batch: int | None) -> None:
    """Bad input as one ``ValueError`` naming the problem and the valid choices."""
    _tasks.spec(task)
    if dtype not in COST_DTYPES:
        raise ValueError(
            f"unknown dtype {dtype!r} for the cost model; valid choices: {', '.join(COST_DTYPES)}"
        )
    choice("attention kernel", attention, ATTENTION)
    for n in steps:
        check_steps(n)
    if batch is not None and batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")


def predict(
    task: str,
    variant: Variant,
    steps: int,
    *,
    dtype: str = "float16",
    batch: int | None = None,
    attention: str = "flash",
    settings: dict | None = None,
) -> dict:
    """One predicted row: peak tensor bytes and its split, FLOPs, network evaluations and per-GPU
    lower bounds, for ``variant`` on ``task`` at N = ``steps`` (see the module doc)."""
    check(task, [steps], dtype, attention, batch)
    with fake_models(attention):
        t = _fake_task(task, steps, dtype, batch, settings)
        return _measure(t, task, variant, dtype, attention)


def _fake_task(task: str, steps: int, dtype: str, batch, settings):
    """The task built from its models' configs (inside :func:`fake_models`)."""
    overrides = build_settings(task, dict(settings or {}, steps=steps, dtype=dtype))
    if batch is not None:
        overrides["batch"] = batch
    try:
        return _tasks.build(task, **overrides)
    except (WeightsError, FileNotFoundError, OSError) as e:
        raise ValueError(f"task {task!r} cannot be built from its model configs: {e}") from None


def _at_steps(t, steps: int):
    """The built task with its sampler over ``steps`` steps (the models do not depend on N)."""
    t.sampler = t.sampler.with_steps(steps)
    return t


def _measure(t, task: str, variant: Variant, dtype: str, attention: str) -> dict:
    """One gradient and optimizer step of ``variant`` on the fake task ``t``, as a row."""
    from ..measure.tracker import measure_gradient

    method = build_method(variant)
    row = {
        "kind": "predicted",
        "task": task,
        "method": variant.method,
        "variant": variant.label,
        "steps": t.steps,
        "dtype": dtype,
        "attention": attention,
        "status": "ok",
        "error": None,
    }
    method.check(t)
    row["batch"] = t.batch
    row.update(includes(t, variant, dtype))
    network_bytes = sum(p.numel() * p.element_size() for p in t.network.parameters())
    try:
        m = measure_gradient(t, method, flops=True)
    except Exception as e:  # noqa: BLE001 - recorded: a method whose code cannot run on fake tensors
        from torch._subclasses.fake_tensor import DataDependentOutputException

        why = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
        if isinstance(e, DataDependentOutputException):
            why = f"not predictable on fake tensors: {variant.method} reads tensor values in Python ({why})"
        row.update(status="error", error=why)
        return row
    row.update(m)
    row["network_bytes"] = network_bytes
    if row["status"] == "ok":
        row["gpus"] = _on_gpus(row, dtype)
    return row


def includes(t, variant: Variant, dtype: str) -> dict:
    """What a row's bytes include: the models in memory and their precision, and what the method's
    graph keeps (its rule, docs/design.md §3)."""
    resident = t.resident or "the task's models"
    return {
        "resident": f"{resident}; all in {dtype}",
        "graph_keeps": build_method(variant).keeps,
        "sampler": type(t.sampler).__name__,
    }


def predict_steps(task: str, variant: Variant, steps: list[int], **kw) -> list[dict]:
    """:func:`predict` for each N of ``steps`` (:func:`predict_variants` for one variant)."""
    return predict_variants(task, [variant], steps, **kw)[0]


def predict_variants(
    task: str, variants: list[Variant], steps: list[int], *, extrapolate: bool = False, **kw
) -> list[list[dict]]:
    """:func:`predict` for each of ``variants`` and each N of ``steps``, the models built once for all
    of them (building a paper-scale task from its configs takes longer than one prediction). With
    ``extrapolate``, a larger N is taken from the exact predictions at three consecutive N (1, 2, 3, else
    one N later, or from the smallest N the variant's options allow: :func:`.extrapolation.find_base`)
    for a variant whose cost is affine in N by construction (``GradientMethod.affine_cost``), and only
    where its figures there do lie on a line (checked, exactly); any other variant is predicted
    directly. Extrapolated rows say so
    (``extrapolated_from``)."""
    dtype, attention = kw.get("dtype", "float16"), kw.get("attention", "flash")
    check(task, list(steps), dtype, attention, kw.get("batch"))
    with fake_models(attention), modules_unchanged():  # each variant and N swaps the sampler only
        t = _fake_task(task, max(steps), dtype, kw.get("batch"), kw.get("settings"))
        if t.sampler.start_step:  # the authors' regime: x_s depends on N; one build per N
            return [[predict(task, v, n, **kw) for n in steps] for v in variants]
        return [_rows(t, task, v, steps, extrapolate, dtype, attention) for v in variants]


def _rows(t, task: str, variant: Variant, steps, extrapolate: bool, dtype: str, attention: str) -> list[dict]:
    """The rows of ``variant`` at each N of ``steps`` on the fake task ``t`` (:func:`predict_steps`)."""
    rows: dict[int, dict] = {}

    def at(n):
        if n not in rows:
            rows[n] = _measure(_at_steps(t, n), task, variant, dtype, attention)
        return rows[n]

    base = None
    if extrapolate and build_method(variant).affine_cost() and max(steps) > 3:
        base = find_base(at)
    out = []
    for n in steps:
        if base is not None and n > base[-1] and n not in rows:
            row = extrapolated(rows[base[0]], rows[base[1]], base, n)
            out.append(dict(row, gpus=_on_gpus(row, dtype)))
        else:
            out.append(at(n))
    return [dict(r) for r in out]


def predicted_graph_bytes(task: str, variant: Variant, settings: dict) -> int | None:
    """The bytes ``variant``'s gradient saves for backward on ``task`` built from ``settings`` (a
    task's resolved settings), predicted on fake tensors in seconds, before a real gradient is taken;
    None where the method cannot run on fake tensors."""
    overrides = build_settings(task, settings)
    with fake_models():
        try:
            res = build_method(variant).gradient(_tasks.build(task, **overrides), measure_graph=True)
        except Exception:  # noqa: BLE001 - no prediction; the real gradient is measured as before
            return None
    return res.graph_bytes if res.status == "ok" else None


#: how far a predicted graph must exceed the budget to mark a run oom before any work: the prediction
#: counts every storage fake tensors keep apart (measured: exact on GMM, up to 1.4% over the real count
#: on digits); the exact graph bytes of the first gradient are checked against the budget as before
PREDICTION_MARGIN = 1.05


def over_budget(task, variant: Variant, budget: int) -> str | None:
    """Why a run of ``variant`` on the built ``task`` cannot fit ``budget`` graph bytes, predicted
    before any real work (None: it may fit, or there is no prediction)."""
    predicted = predicted_graph_bytes(task.name, variant, task.config)
    if predicted is None or predicted <= PREDICTION_MARGIN * budget:
        return None
    return f"predicted graph bytes {predicted} (cost model, fake tensors) exceed memory_budget_bytes {budget}"


def _on_gpus(row: dict, dtype: str) -> dict:
    """Per card: the time lower bound, and whether the peak fits with the card's reserve (a measured
    CUDA overhead where the package has one, else a rule of thumb: :mod:`.cards`)."""
    from .cards import reserve

    flops = row["flops_forward"] + row["flops_backward"]
    reads = (row["nfe_forward"] + row["nfe_backward"]) * row["network_bytes"]
    out = {}
    for name, (memory, half_tflops, fp32_tflops, tbps) in GPUS.items():
        rate = (fp32_tflops if dtype == "float32" else half_tflops) * 1e12
        reserve_bytes, source = reserve(name)
        out[name] = {
            "time_lower_bound_s": max(flops / rate, reads / (tbps * 1e12)),
            "fits": row["peak_tensor_bytes"] + reserve_bytes <= memory,
            "memory_bytes": memory,
            "reserve_bytes": reserve_bytes,
            "reserve": source,
        }
    return out


def run(
    task: str,
    method: str | None,
    options: dict,
    steps: list[int],
    *,
    label: str | None = None,
    dtype: str = "float16",
    batch: int | None = None,
    attention: str = "flash",
    settings: dict | None = None,
    out=None,
    extrapolate: bool = False,
    variants: list[Variant] | None = None,
    check_device: str | None = None,
    check_iterations: int = 3,
) -> list[dict]:
    """``sdo-bench cost``: :func:`predict` for each N, every variant's rows in one list (the command line
    prints them as a table or JSON); ``out`` also writes the list of rows atomically. ``variants``
    (instead of ``method``, ``options`` and ``label``): several variants on models built once, ``out`` a
    list of one path per variant. ``check_device``: a device (cuda, cuda:N, cpu) on which each row is
    also measured with random weights (:mod:`.check`); a device this machine lacks is refused before
    any work."""
    from ..records.io import check_outputs, write_atomic

    check(task, steps, dtype, attention, batch)
    for key in ("steps", "dtype", "device"):  # the prediction's own axes, never a task setting
        if key in (settings or {}):
            where = "--steps and --dtype" if key != "device" else "nowhere: it runs on fake CPU tensors"
            raise ValueError(f"--set {key}: the cost model takes it from {where}")
    if batch is not None and (settings or {}).get("batch", batch) != batch:
        raise ValueError(f"--batch {batch} and --set batch={settings['batch']} disagree; give batch once")
    several = variants is not None
    variants = variants if several else [Variant(method, options, label)]
    outs = list(out or []) if several else ([out] if out else [])
    if outs and len(outs) != len(variants):
        raise ValueError(f"give one --out per variant: {len(variants)} variants, {len(outs)} --out")
    for v in variants:
        build_method(v)
    check_outputs([("--out", o) for o in outs])
    if check_device is not None:
        from . import check as cost_check

        dev = cost_check.device(check_device)
        if check_iterations < 0:
            raise ValueError(f"--check-iterations must be >= 0, got {check_iterations}")
    per_variant = predict_variants(
        task, variants, steps, extrapolate=extrapolate, dtype=dtype, batch=batch, attention=attention,
        settings=settings,
    )  # fmt: skip
    if check_device is not None:
        kw = dict(dev=dev, iterations=check_iterations, settings=settings, batch=batch)
        per_variant = [cost_check.checked(rows, v, **kw) for v, rows in zip(variants, per_variant)]
    for o, rows in zip(outs, per_variant):
        write_atomic(o, {"rows": rows})
    return [r for rs in per_variant for r in rs]
