"""Deterministic measures of one gradient: network evaluations and bytes saved for backward.

* :class:`CountingNetwork` wraps a denoiser and counts every call (``nfe_forward``: with or without
  graph, recomputations included) and every backward pass through it (``nfe_backward``: a hook on the
  output fires once per backward that reaches it).
* :class:`GraphBytes` counts the bytes the autograd graph saves for backward, with
  ``torch.autograd.graph.saved_tensors_hooks``; each storage is counted once, so a weight saved by every
  step counts once, as it occupies memory once. Methods that keep tensors alive outside autograd's
  saved tensors (checkpointing keeps each step's input for recomputation) declare them with
  :func:`note_saved`.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

_ACTIVE: list[GraphBytes] = []


class CountingNetwork(nn.Module):
    """``eps = net(x, t, cond)`` with call and backward counters."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.nfe_forward = 0
        self.nfe_backward = 0

    def reset_counts(self) -> None:
        self.nfe_forward = 0
        self.nfe_backward = 0

    def _count_backward(self, grad):
        self.nfe_backward += 1
        return grad

    def forward(self, x, t, cond=None):
        self.nfe_forward += 1
        out = self.model(x, t, cond)
        if torch.is_grad_enabled() and out.requires_grad:
            out.register_hook(self._count_backward)
        return out


def _storage_key(t: torch.Tensor):
    from torch._subclasses.fake_tensor import is_fake

    s = t.untyped_storage()
    # a fake tensor's storage has no data pointer (all read 0): its storage object tells storages apart
    ptr = s._cdata if is_fake(t) else s.data_ptr()
    return (t.device.type, t.device.index, ptr), s.nbytes()


class GraphBytes(contextlib.AbstractContextManager):
    """Within the block, count the bytes of every distinct storage saved for backward."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._sizes: dict = {}
        self._hooks = None

    @property
    def bytes(self) -> int:
        return int(sum(self._sizes.values()))

    def add(self, t: torch.Tensor) -> None:
        if not isinstance(t, torch.Tensor) or t.layout != torch.strided:
            return
        try:
            key, n = _storage_key(t)
        except (RuntimeError, NotImplementedError):  # tensors without storage (e.g. functional wrappers)
            return
        self._sizes[key] = n

    def _pack(self, t):
        self.add(t)
        return t

    @staticmethod
    def _unpack(t):
        return t

    def __enter__(self):
        if self.enabled:
            self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
            self._hooks.__enter__()
            _ACTIVE.append(self)
        return self

    def __exit__(self, *exc):
        if self.enabled:
            _ACTIVE.remove(self)
            self._hooks.__exit__(*exc)
        return False


def note_saved(t: torch.Tensor) -> None:
    """Declare a tensor kept alive for backward outside autograd's saved tensors (see module doc)."""
    for counter in _ACTIVE:
        counter.add(t)


def synchronizer(device: torch.device):
    """A function that waits for the device's queued work (CUDA), or does nothing (CPU): call it
    around a timed region."""
    device = torch.device(device)
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def scalar(t: torch.Tensor) -> float:
    """A one-element tensor as a float; NaN for a fake tensor (the cost model), which has no value."""
    from torch._subclasses.fake_tensor import is_fake

    return float("nan") if is_fake(t) else float(t.detach())


def agreement(grads, exact) -> dict:
    """How close a gradient is to the exact one (lists of tensors, compared in float64): ``cosine``,
    ``relnorm`` (|g| / |exact|) and ``rel_error`` (|g - exact| / |exact|); None where |exact| = 0."""
    a = torch.cat([t.detach().reshape(-1).double().cpu() for t in grads])
    b = torch.cat([t.detach().reshape(-1).double().cpu() for t in exact])
    na, nb = float(a.norm()), float(b.norm())
    if nb == 0.0:
        return {"cosine": None, "relnorm": None, "rel_error": None}
    return {
        "cosine": float(a @ b) / (na * nb) if na else 0.0,
        "relnorm": na / nb,
        "rel_error": float((a - b).norm()) / nb,
    }


# -- peak memory -----------------------------------------------------------------------------------
def _read_status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_rss_peak() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM) of this process; False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class PeakMemory(contextlib.AbstractContextManager):
    """Peak memory within the block.

    * CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``
      (source ``cuda_max_allocated``);
    * CPU on Linux: the process RSS high-water mark ``VmHWM``, reset through ``/proc/self/clear_refs``
      before the block (source ``rss_hwm``);
    * elsewhere: RSS sampled every millisecond by a thread (source ``rss_sampled``, a fallback that can
      miss short peaks).

    The kernel updates RSS counters in batches (up to 64 pages per thread), so the CPU figures are exact
    to about that much. ``peak_bytes`` is absolute (the whole process or every CUDA allocation);
    ``delta_bytes`` is the rise
    over the value when the block started.
    """

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.source: str | None = None
        self.peak_bytes: int | None = None
        self.start_bytes: int | None = None
        self._thread = None

    @property
    def delta_bytes(self) -> int | None:
        if self.peak_bytes is None or self.start_bytes is None:
            return None
        return max(0, self.peak_bytes - self.start_bytes)

    def __enter__(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start_bytes = torch.cuda.memory_allocated(self.device)
            self.source = "cuda_max_allocated"
        elif _reset_rss_peak() and _read_status_kb("VmHWM") is not None:
            self.start_bytes = _read_status_kb("VmRSS")
            self.source = "rss_hwm"
        else:
            self._start_sampler()
        return self

    def _start_sampler(self):
        import threading

        import psutil

        proc = psutil.Process()
        self.source = "rss_sampled"
        self.start_bytes = proc.memory_info().rss
        self._peak = self.start_bytes
        self._stop = threading.Event()

        def sample():
            while not self._stop.is_set():
                self._peak = max(self._peak, proc.memory_info().rss)
                self._stop.wait(0.001)

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()

    def __exit__(self, *exc):
        if self.source == "cuda_max_allocated":
            torch.cuda.synchronize(self.device)
            self.peak_bytes = torch.cuda.max_memory_allocated(self.device)
        elif self.source == "rss_hwm":
            self.peak_bytes = _read_status_kb("VmHWM")
        else:
            self._stop.set()
            self._thread.join()
            self.peak_bytes = self._peak
        return False


def is_oom(exc: BaseException) -> bool:
    """An allocation failure: CUDA's or the host's (``MemoryError``, or a RuntimeError saying so)."""
    text = str(exc).lower()
    return isinstance(exc, (MemoryError, torch.cuda.OutOfMemoryError)) or (
        isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)
    )
