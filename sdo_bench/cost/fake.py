"""Models on fake tensors: built from their configs with no weights (:func:`sdo_bench.weights.configs_only`)
on ``torch._subclasses.fake_tensor.FakeTensorMode`` — shapes, dtypes and storages, no data — the cost
model's world (:mod:`sdo_bench.cost`)."""

from __future__ import annotations

import contextlib
import dataclasses

import torch

from ..weights import configs_only


@contextlib.contextmanager
def _assign_on_apply():
    """``Module.to``/``.half()`` under a fake mode: assign converted parameters (torch's own
    ``_apply`` tries to swap tensors in place, which fake tensors refuse); a parameter several modules
    share is converted once and stays shared."""
    original = torch.nn.Module._apply
    converted: dict[int, tuple] = {}  # a tied parameter (T5's shared embedding) stays one tensor

    def _apply(self, fn, recurse=True):
        if recurse:
            for child in self.children():
                child._apply(fn)
        for key, param in self._parameters.items():
            if param is None:
                continue
            if id(param) in converted and converted[id(param)][0] is param:
                self._parameters[key] = converted[id(param)][1]
                continue
            with torch.no_grad():
                new = fn(param)
            if new is not param:  # a fresh tensor, no history: a parameter as ``Parameter`` makes one,
                new.requires_grad_(param.requires_grad)  # less its detach (a fake op per parameter)
                new._is_param = True
                self._parameters[key] = new
                converted[id(param)] = (param, new)
        for key, buf in self._buffers.items():
            if buf is not None:
                self._buffers[key] = fn(buf)
        return self

    torch.nn.Module._apply = _apply
    try:
        yield
    finally:
        torch.nn.Module._apply = original


@contextlib.contextmanager
def _lean_cache_keys():
    """``FakeTensorMode`` caches each op's output metadata under a key made of its inputs' metadata;
    building that key for a tensor walks the metadata's fields through the mode's generic argument
    flattener, a quarter of a fake gradient's time. Within the block the key is built in one pass over
    the fields instead: the same key, element for element (any field holding a symbolic value takes
    torch's own path). Where torch's metadata is not laid out as this expects, nothing is changed."""
    from torch._subclasses import fake_tensor

    metadata = getattr(fake_tensor, "TensorMetadata", None)
    original = getattr(metadata, "_flatten_into", None)
    names = tuple(f.name for f in dataclasses.fields(metadata)) if dataclasses.is_dataclass(metadata) else ()
    if original is None or not {"shape", "stride", "dtype"} <= set(names):
        yield
        return
    sequences = (tuple, list, torch.Size)

    def _flatten_into(self, result, mode, state):
        key = []
        for name in names:
            value = getattr(self, name)
            if isinstance(value, sequences):  # as ``FakeTensorMode._prep_args_for_hash`` flattens one
                key.append(type(value))
                key.append(f"length_{len(value)}")
                for v in value:
                    if type(v) is not int:
                        return original(self, result, mode, state)
                    key.append(int)
                    key.append(v)
            elif isinstance(value, torch.SymInt):
                return original(self, result, mode, state)
            else:
                key.append(value)
        result.extend(key)

    metadata._flatten_into = _flatten_into
    try:
        yield
    finally:
        metadata._flatten_into = original


#: the largest tensor made from Python numbers (``torch.tensor([...])``) that keeps its values on fake
#: tensors: a sampler's time grid (N + 1 floats) is read in Python by torchdiffeq (the adjoint)
VALUES_UP_TO = 100_000


@contextlib.contextmanager
def _values_kept(limit: int = VALUES_UP_TO):
    """Tensors made from Python numbers keep their values under a fake mode, up to ``limit``
    elements, and so do the results of ops on such tensors alone (FakeTensor *constants*: torch
    computes them on the real values; by default only one-element tensors are kept). Shapes, dtypes
    and storages — what memory and FLOPs are counted from — are those of any fake tensor."""
    from torch._subclasses import fake_tensor

    original = fake_tensor.CONSTANT_NUMEL_LIMIT
    fake_tensor.CONSTANT_NUMEL_LIMIT = max(original, limit)
    try:
        yield
    finally:
        fake_tensor.CONSTANT_NUMEL_LIMIT = original


@contextlib.contextmanager
def fake_models(attention: str = "flash"):
    """Models built from their configs (no weights) on fake CPU tensors, with the attention kernel
    ``attention`` for ``scaled_dot_product_attention``; tensors made from Python numbers (a time grid)
    keep their values (:func:`_values_kept`)."""
    # imported outside the fake mode: a module first imported under it keeps fake module-level tensors
    # for good (torchdiffeq's Butcher tableaus, which the adjoint's solver reads, in later real runs too)
    import torchdiffeq  # noqa: F401
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backend = {"flash": SDPBackend.FLASH_ATTENTION, "math": SDPBackend.MATH}[attention]
    with configs_only(), _assign_on_apply(), _values_kept(), _lean_cache_keys():
        with FakeTensorMode(allow_non_fake_inputs=True), sdpa_kernel(backend):
            yield


def build_settings(task: str, settings: dict, device: str = "cpu") -> dict:
    """A task's settings for a build on fake CPU tensors (or, for ``--check``, random weights on
    ``device``): no judge (it scores samples, which fake tensors do not have)."""
    from .. import tasks

    out = dict(settings, device=device)
    if "judge" in tasks.spec(task).defaults:
        out["judge"] = False
    return out
