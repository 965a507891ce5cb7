"""How fast the cost model predicts one gradient, and the least any dispatch-level counter could take
(README, "Speed"): for each method, on a task built once from its configs,

* ``predicted``: the exact row at N = 50 as ``sdo-bench cost --extrapolate`` makes it (three exact
  predictions at the base N = 1, 2, 3, each a gradient and an optimizer step under the tracker);
* ``floor``: the same three gradients on ``FakeTensorMode`` under a dispatch mode that only answers
  device queries (as the tracker does) and counts nothing: what PyTorch's fake tensors alone cost;
* ``per step`` and ``fixed``: the floor's time per sampling step and its part that does not grow with N
  (the VAE decode, the reward, their backward), from single floor gradients at the base's first and
  last N (a variant predicted directly at N has no split).

Times are the best of ``--repeats``, one thread, after one warm-up prediction (the first fills PyTorch's
fake-op cache); run it on a quiet machine:

    OMP_NUM_THREADS=1 python benchmarks/cost_speed.py --task sd15-latent-hpsv2 > cost_speed.md

About 10 min on one core for the four methods on SD1.5."""

import argparse
import gc
import time
from functools import partial

import torch
from torch._subclasses.fake_tensor import FakeTensor
from torch.utils._python_dispatch import TorchDispatchMode

from sdo_bench.cost import predict as cost
from sdo_bench.cost.fake import fake_models
from sdo_bench.measure.tracker import _DEVICE_QUERY, _device_of, modules_unchanged
from sdo_bench.methods import build as build_method
from sdo_bench.spec.variant import Variant


class DeviceAnswers(TorchDispatchMode):
    """The least a dispatch-level tracker costs: device queries answered, every other op passed on."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is _DEVICE_QUERY and isinstance(args[0], FakeTensor):
            return _device_of(args[0])
        return func(*args, **(kwargs or {}))


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="sd15-latent-hpsv2")
    parser.add_argument("--methods", default="bptt,checkpoint,sdo,adjoint")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=2)
    a = parser.parse_args()
    try:  # bad input in one line, before the task is built
        cost.check(a.task, [a.steps], "float16", "flash", None)
        variants = [Variant(name) for name in a.methods.split(",")]
        for v in variants:
            build_method(v)
        if a.repeats < 1:
            raise ValueError(f"--repeats must be >= 1, got {a.repeats}")
    except ValueError as e:
        parser.error(str(e))
    torch.set_num_threads(1)
    with fake_models("flash"), modules_unchanged():
        t = cost._fake_task(a.task, a.steps, "float16", None, None)

        def predicted(v):
            rows = cost._rows(t, a.task, v, [a.steps], True, "float16", "flash")
            return rows[0].get("extrapolated_from")

        def floor(v, ns):
            with DeviceAnswers():
                for n in ns:
                    build_method(v).gradient(cost._at_steps(t, n), measure_graph=False)

        predicted(Variant("bptt"))  # warm-up: fills the fake-op cache
        head = ["method", "base", "predicted (s)", "floor (s)", "per step (s)", "fixed (s)"]
        print(f"{a.task}, N = {a.steps}\n\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        for v in variants:
            base = predicted(v)
            t_pred = best(partial(predicted, v), a.repeats)
            if base is None:  # predicted directly at N: no split into steps
                t_floor, step, fixed = (
                    best(partial(floor, v, [a.steps]), a.repeats),
                    float("nan"),
                    float("nan"),
                )
            else:
                t_floor = best(partial(floor, v, base), a.repeats)
                first, last = (best(partial(floor, v, [n]), a.repeats) for n in (base[0], base[-1]))
                step = (last - first) / (base[-1] - base[0])
                fixed = first - base[0] * step
            cells = [
                f"`{v.label}`",
                str(base),
                f"{t_pred:.1f}",
                f"{t_floor:.1f}",
                f"{step:.2f}",
                f"{fixed:.2f}",
            ]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
