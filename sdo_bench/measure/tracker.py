"""Peak tensor memory and FLOPs of one gradient, counted at the dispatcher — on every device, real or fake.

:class:`LiveTensorBytes` is a ``TorchDispatchMode`` that sees every aten op (forward and backward, the
optimizer step too). The first time it sees a storage (an op's input or output) it adds the storage's
``nbytes`` to the live total, and a ``weakref.finalize`` on the storage subtracts them when the storage
dies (a device query, ``prim.device``, neither makes nor reads a storage: it is answered, not
counted). Its peak is the quantity CUDA's ``torch.cuda.max_memory_allocated`` reports, less the allocator's
rounding to blocks (512 B) and its workspaces: deterministic, and the same on fake tensors (models
built from their configs, no weights) as on real ones, so paper scale can be predicted on a CPU
(:mod:`sdo_bench.cost`).

With ``flops=True`` it also counts floating-point operations with torch's own formula table
(``torch.utils.flop_counter``), split into forward and backward by whether the autograd engine is
running the op. It uses no module hooks (``FlopCounterMode``'s module tracker keeps the graph that
non-reentrant checkpointing recomputes in backward alive until the mode exits, which would make
``checkpoint`` look like ``bptt``). CPU attention kernels, which torch's table lacks, get formulas here:
flash attention forward ``4·B·H·Lq·Lk·D``, backward twice that.

:func:`measure_gradient` is what a run records (one dedicated gradient and optimizer step, outside the
timed iterations) and what the cost model predicts: peak tensor bytes and the split into weights,
activations (the rise during the gradient) and optimizer state.
"""

from __future__ import annotations

import contextlib
import contextvars
import weakref

import torch
from torch._subclasses.fake_tensor import FakeTensor
from torch.utils import flop_counter
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten


def _sdpa_flops(query_shape, key_shape, value_shape):
    b, h, lq, d = query_shape
    _, _, lk, dv = value_shape
    return 2 * b * h * lq * lk * d + 2 * b * h * lq * lk * dv


def _register_cpu_attention() -> None:
    """Formulas for the CPU flash-attention ops (what SDPA dispatches to on CPU and fake CPU tensors)."""
    fwd = aten._scaled_dot_product_flash_attention_for_cpu
    bwd = aten._scaled_dot_product_flash_attention_for_cpu_backward
    if fwd in flop_counter.flop_registry:
        return

    @flop_counter.register_flop_formula(fwd)
    def _forward(query, key, value, *args, out_shape=None, **kwargs) -> int:
        return _sdpa_flops(query, key, value)

    @flop_counter.register_flop_formula(bwd)
    def _backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
        return 2 * _sdpa_flops(query, key, value)


_register_cpu_attention()


def _tensors(values):
    """The tensors among ``values`` and in the lists and tuples among them (what aten ops take and
    return; faster than a pytree walk)."""
    for v in values:
        if isinstance(v, torch.Tensor):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _tensors(v)


#: a tensor's device, asked of a tensor whose device is dispatched (a fake tensor): by the autograd
#: engine at every gradient it passes on, two thirds of the ops a fake gradient dispatches
_DEVICE_QUERY = torch.ops.prim.device.default


def _device_of(t: FakeTensor) -> torch.device:
    """What ``FakeTensorMode`` answers for ``prim.device`` (its ``_device_handler``), without its dispatch."""
    return torch.device("meta") if t.fake_mode.in_kernel_invocation else t.fake_device


def _in_backward() -> bool:
    return torch._C._current_graph_task_id() != -1


class LiveTensorBytes(TorchDispatchMode):
    """Live and peak bytes of the tensors this mode has seen (see the module doc), and FLOPs."""

    def __init__(self, flops: bool = False):
        super().__init__()
        self._live: dict[int, int] = {}
        self.current = 0
        self.peak = 0
        self.count_flops = flops
        self.flops = {"forward": 0, "backward": 0}

    def track(self, tensors) -> int:
        """Count tensors that exist already (weights, inputs); returns the bytes added."""
        before = self.current
        for t in tensors:
            self._see(t)
        return self.current - before

    def reset_peak(self) -> None:
        self.peak = self.current

    def _see(self, t) -> None:
        if not isinstance(t, torch.Tensor) or t.layout != torch.strided:
            return
        try:
            storage = t.untyped_storage()
        except (RuntimeError, NotImplementedError):
            return
        key = storage._cdata
        if key in self._live:
            return
        n = int(storage.nbytes())
        self._live[key] = n
        self.current += n
        self.peak = max(self.peak, self.current)
        weakref.finalize(storage, self._free, key)

    def _free(self, key: int) -> None:
        self.current -= self._live.pop(key, 0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is _DEVICE_QUERY:  # no storage made or read; answered as FakeTensorMode answers it
            return _device_of(args[0]) if isinstance(args[0], FakeTensor) else func(*args, **(kwargs or {}))
        kwargs = kwargs or {}
        for t in _tensors(args):
            self._see(t)
        for t in _tensors(kwargs.values()):
            self._see(t)
        out = func(*args, **kwargs)
        for t in _tensors((out,)):
            self._see(t)
        if self.count_flops:
            formula = flop_counter.flop_registry.get(func._overloadpacket)
            if formula is not None:
                n = formula(*args, **kwargs, out_val=out)
                self.flops["backward" if _in_backward() else "forward"] += int(n)
        return out


# -- what a task holds -----------------------------------------------------------------------------------
_WALKS: contextvars.ContextVar = contextvars.ContextVar("sdo_bench_module_walks", default=None)


@contextlib.contextmanager
def modules_unchanged():
    """Within the block, what :func:`reachable` finds inside a module is walked once per module and
    remembered: for measurements of one built task at several N (the cost model), where only the
    sampler changes between them and no module gains or loses a tensor. A module's parameters and
    buffers are read afresh each time (:func:`held_tensors`); the walk of a large model takes about
    a second."""
    token = _WALKS.set(weakref.WeakKeyDictionary())
    try:
        yield
    finally:
        _WALKS.reset(token)


def reachable(
    obj, limit: int = 200_000, grads: bool = True
) -> tuple[list[torch.Tensor], list[torch.nn.Module]]:
    """Every tensor (and, with ``grads``, its ``.grad``) and every module reachable from ``obj`` through
    attributes, containers, modules, closures and bound methods (not through module globals): a task's
    weights, buffers, noises and parameters, and the modules that hold them."""
    import types

    skip = (str, bytes, int, float, bool, type, types.ModuleType)
    seen, tensors, modules, stack = set(), [], [], [obj]
    walks = _WALKS.get()
    while stack and len(seen) < limit:
        o = stack.pop()
        if o is None or id(o) in seen or isinstance(o, skip):
            continue
        seen.add(id(o))
        if isinstance(o, torch.Tensor):
            tensors += [o] if o.grad is None or not grads else [o, o.grad]
        elif isinstance(o, torch.nn.Module) and walks is not None and o is not obj:
            if o not in walks:  # the module's own walk, once; its tensors' grads are read afresh
                walks[o] = reachable(o, limit, grads=False)
            found, inside = walks[o]
            tensors += found
            if grads:  # read afresh: a gradient comes and goes between measurements
                tensors += [t.grad for t in found if t.grad is not None]
            modules += inside
        elif isinstance(o, torch.nn.Module):
            modules.append(o)
            stack.extend(o.__dict__.values())
        elif isinstance(o, dict):  # a tokenizer's vocabulary: 50k strings and ints, never pushed
            stack.extend(v for v in o.values() if not isinstance(v, skip))
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(v for v in o if not isinstance(v, skip))
        elif isinstance(o, types.FunctionType):
            stack.extend(c.cell_contents for c in (o.__closure__ or ()) if _has_contents(c))
            stack.extend(o.__defaults__ or ())
        elif isinstance(o, types.MethodType):
            stack.extend([o.__self__, o.__func__])
        elif isinstance(o, torch.optim.Optimizer):
            stack.extend([o.state, o.param_groups])
        elif hasattr(o, "__dict__") and not callable(getattr(o, "__torch_function__", None)):
            stack.extend(vars(o).values())
    return tensors, modules


def _task_fields(task) -> list:
    """What a task holds for its gradients (its judge, which only scores final samples, left out)."""
    return [v for k, v in vars(task).items() if k != "judge"]


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
        return True
    except ValueError:
        return False


def _bytes(tensors) -> int:
    storages = {}
    for t in tensors:
        if isinstance(t, torch.Tensor) and t.layout == torch.strided:
            s = t.untyped_storage()
            storages[s._cdata] = int(s.nbytes())
    return sum(storages.values())


def held_tensors(task) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """What the task holds: the parameters and buffers of every module it holds (frozen and optimized)
    and its optimized tensors (its weights), and every tensor reachable from it (weights, noises,
    embeddings, gradients), from one walk (:func:`reachable`)."""
    tensors, found = reachable(_task_fields(task))
    modules = {id(m): m for m in found}
    out = [t for m in modules.values() for t in (*m.parameters(recurse=False), *m.buffers(recurse=False))]
    return out + [p for p in task.parameters() if not isinstance(p, torch.nn.Parameter)], tensors


def measure_gradient(
    task, method, *, flops: bool = False, optimizer_step: bool = True, restore: bool = True
) -> dict:
    """One gradient of ``method`` on ``task`` and one optimizer step, under :class:`LiveTensorBytes`.

    Returns ``peak_tensor_bytes`` (absolute: every tensor the task holds plus what the gradient and
    the step allocate), ``weights_bytes`` (parameters and buffers of the task's modules),
    ``activation_bytes`` (the rise of live bytes during the gradient over what was live at its start),
    ``optimizer_state_bytes`` (the optimizer's state after the step: Adam's two moments), the network
    evaluation counts and, with ``flops``, ``flops_forward`` / ``flops_backward``; on CUDA also
    ``cuda_max_allocated_bytes`` and ``cuda_max_reserved_bytes``. The parameters, the method's random
    stream and everything the run records afterwards are left as they were (``restore=False``: the
    parameters keep the optimizer step, and no copy of them is held while measuring)."""
    params = task.parameters()
    saved = [p.detach().clone() for p in params] if restore else []
    rng = method.rng(task).getstate()
    cuda = task.device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(task.device)
        torch.cuda.reset_peak_memory_stats(task.device)
    with LiveTensorBytes(flops=flops) as live:
        weight, held = held_tensors(task)
        weights = live.track(weight)
        live.track(held)
        start = live.current
        live.reset_peak()
        res = method.gradient(task, measure_graph=False)
        activation = live.peak - start
        state_bytes = 0
        if optimizer_step and res.status == "ok":
            optimizer = task.make_optimizer()
            for p, g in zip(params, res.grads):
                p.grad = -g  # as a run's iterations do
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            state_bytes = _bytes(t for s in optimizer.state.values() for t in s.values())
            del optimizer
        peak = live.peak
    with torch.no_grad():
        for p, s in zip(params, saved):  # nothing without restore
            p.copy_(s)
    method.rng(task).setstate(rng)
    out = {
        "status": res.status,
        "peak_tensor_bytes": peak,
        "weights_bytes": weights,
        "activation_bytes": activation,
        "optimizer_state_bytes": state_bytes,
        "nfe_forward": res.nfe_forward,
        "nfe_backward": res.nfe_backward,
    }
    if cuda:
        torch.cuda.synchronize(task.device)
        out["cuda_max_allocated_bytes"] = torch.cuda.max_memory_allocated(task.device)
        out["cuda_max_reserved_bytes"] = torch.cuda.max_memory_reserved(task.device)
    if flops:
        out.update(flops_forward=live.flops["forward"], flops_backward=live.flops["backward"])
    return out
