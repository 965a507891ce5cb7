"""``sdo-bench cost --check``: each prediction set beside a real run of the same gradient.

For each predicted row the same task is built again, from the same configs, with random weights
(:func:`~sdo_bench.weights.configs_only` on real tensors, ``torch.manual_seed(0)``; random weights take
the same memory and FLOPs as trained ones) on a real device, in the same dtype, batch and attention
kernel, and the same gradient and optimizer step run (:func:`~sdo_bench.measure.tracker.measure_gradient`).
Measured, beside its ratio to the prediction:

* everywhere: the tensor tracker's peak, activation bytes and FLOPs on the real tensors — what the
  prediction counts on fake ones (``--check-device cpu`` checks the cost model on any machine);
* on CUDA: ``torch.cuda.max_memory_allocated`` and ``max_memory_reserved`` (the allocator's blocks
  and cache: what decides an out-of-memory error), the CUDA context and library workspaces (device
  memory in use beyond what torch reserved, read with ``torch.cuda.mem_get_info`` right after the
  gradient: nothing else should run on the card) and so ``measured_overhead_bytes``, what the card
  needs beyond the predicted peak (:mod:`sdo_bench.cost.cards`);
* the median time per iteration (the gradient and the optimizer step, as a run's iterations, after
  the measured gradient as warm-up), against the predicted lower bound where the card is listed.

A run that goes out of memory is a result (``check_status`` "oom", "oom at N = …"), not a crash; the
other rows go on. Attention: ``flash`` runs PyTorch's flash kernel on CPU and on CUDA flash or
memory-efficient attention (both keep O(L) per head; fp32 has no CUDA flash kernel), ``math`` the math
kernel.
"""

from __future__ import annotations

import math

import torch

from .. import tasks as _tasks
from ..measure.clock import Clock
from ..measure.counters import is_oom
from ..measure.tracker import measure_gradient
from ..methods import build as build_method
from ..weights import configs_only
from .cards import GPUS, card_of
from .fake import build_settings

#: the measured fields a checked row adds to its prediction
MEASURED = (
    "checked_on", "check_device", "check_status", "check_error",
    "measured_peak_tensor_bytes", "measured_activation_bytes", "measured_flops_forward",
    "measured_flops_backward", "measured_max_allocated_bytes", "measured_max_reserved_bytes",
    "measured_cuda_context_bytes", "measured_overhead_bytes", "measured_time_per_iteration_s",
    "ratio_peak_tensor_bytes", "ratio_max_allocated", "ratio_max_reserved", "ratio_time",
)  # fmt: skip


class NoDevice(ValueError):
    """``--check`` asked for a device this machine does not have (one line, exit 2, before any work)."""


def device(name: str) -> torch.device:
    """The device ``--check-device`` names, or :class:`NoDevice` / ``ValueError`` naming the fix."""
    try:
        dev = torch.device(name)
    except RuntimeError:
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise ValueError(f"--check-device {name!r}: valid choices: cuda, cuda:N, cpu")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise NoDevice(
                f"--check needs a CUDA device and this machine has none (torch {torch.__version__}, "
                "torch.cuda.is_available() is False): run it on a machine with a GPU, or give "
                "--check-device cpu to check the prediction against real CPU tensors"
            )
        if (dev.index or 0) >= torch.cuda.device_count():
            raise NoDevice(
                f"--check-device {name}: this machine has {torch.cuda.device_count()} CUDA devices"
            )
    return dev


def _kernels(attention: str, dev: torch.device):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    if attention == "math":
        return sdpa_kernel(SDPBackend.MATH)
    if dev.type == "cuda":
        return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION])
    return sdpa_kernel(SDPBackend.FLASH_ATTENTION)


def _ratio(measured, predicted):
    if measured is None or not predicted:
        return None
    return measured / predicted


def checked(rows: list[dict], variant, *, dev: torch.device, iterations: int, settings, batch) -> list[dict]:
    """Each predicted row of ``variant`` with its measurement on ``dev`` (see the module doc)."""
    return [dict(row, **measure(row, variant, dev=dev, iterations=iterations, settings=settings, batch=batch))
            for row in rows]  # fmt: skip


def measure(row: dict, variant, *, dev: torch.device, iterations: int, settings, batch) -> dict:
    """The measured fields of one predicted row: a real run of the same gradient on ``dev``."""
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    out = dict.fromkeys(MEASURED)
    out.update(checked_on=name, check_device=str(dev), check_status="ok")
    overrides = build_settings(
        row["task"], dict(settings or {}, steps=row["steps"], dtype=row["dtype"]), str(dev)
    )
    if batch is not None:
        overrides["batch"] = batch
    task = None
    try:
        torch.manual_seed(0)
        with configs_only(), _kernels(row["attention"], dev):
            task = _tasks.build(row["task"], **overrides)
            method = build_method(variant)
            method.check(task)
            out.update(_run(task, method, dev, iterations))
    except Exception as e:  # noqa: BLE001 - a result: the other rows go on
        what = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}" if str(e) else type(e).__name__
        oom = is_oom(e)
        out.update(check_status="oom" if oom else "error",
                   check_error=f"oom at N = {row['steps']}: {what}" if oom else what)  # fmt: skip
    finally:
        del task
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    if row.get("status") == "ok" and out["check_status"] == "ok":
        out.update(_ratios(row, out))
    return out


def _run(task, method, dev: torch.device, iterations: int) -> dict:
    cuda = dev.type == "cuda"
    if cuda:
        torch.cuda.empty_cache()  # the build's cached blocks are not the gradient's
    m = measure_gradient(task, method, flops=True, restore=False)
    out = {
        "measured_peak_tensor_bytes": m["peak_tensor_bytes"],
        "measured_activation_bytes": m["activation_bytes"],
        "measured_flops_forward": m["flops_forward"],
        "measured_flops_backward": m["flops_backward"],
    }
    if m["status"] != "ok":
        return dict(out, check_status=m["status"], check_error=f"the gradient's status is {m['status']}")
    if cuda:
        free, total = torch.cuda.mem_get_info(dev)
        out.update(
            measured_max_allocated_bytes=m["cuda_max_allocated_bytes"],
            measured_max_reserved_bytes=m["cuda_max_reserved_bytes"],
            measured_cuda_context_bytes=(total - free) - torch.cuda.memory_reserved(dev),
        )
    clock, optimizer, params, times = Clock(dev), task.make_optimizer(), task.parameters(), []
    for _ in range(iterations):  # as a run's iterations: the gradient, then the optimizer step
        res, dt = clock(method.gradient, task, False)
        for p, g in zip(params, res.grads):
            p.grad = -g
        _, dt_step = clock(optimizer.step)
        optimizer.zero_grad(set_to_none=True)
        times.append(dt + dt_step)
    if times:
        out["measured_time_per_iteration_s"] = sorted(times)[len(times) // 2]
    return out


def _ratios(row: dict, out: dict) -> dict:
    predicted = row["peak_tensor_bytes"]
    r = {
        "ratio_peak_tensor_bytes": _ratio(out["measured_peak_tensor_bytes"], predicted),
        "ratio_max_allocated": _ratio(out["measured_max_allocated_bytes"], predicted),
        "ratio_max_reserved": _ratio(out["measured_max_reserved_bytes"], predicted),
    }
    if out["measured_max_reserved_bytes"] is not None:
        used = out["measured_max_reserved_bytes"] + out["measured_cuda_context_bytes"]
        r["measured_overhead_bytes"] = used - predicted
    card = card_of(out["checked_on"], GPUS) if out["check_device"] != "cpu" else None
    bound = (row.get("gpus") or {}).get(card, {}).get("time_lower_bound_s") if card else None
    t = out["measured_time_per_iteration_s"]
    r["ratio_time"] = t / bound if t is not None and bound and math.isfinite(bound) else None
    return r
