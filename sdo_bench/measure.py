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

_ACTIVE: list["GraphBytes"] = []


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
    s = t.untyped_storage()
    return (t.device.type, t.device.index, s.data_ptr()), s.nbytes()


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
