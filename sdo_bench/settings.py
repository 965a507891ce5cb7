"""The settings every task accepts, and their one rule each: what `sdo-bench list` shows as "also", what
the command line, the cost model and the workflow's config check take, and what ``tasks.build``
checks. Torch-free, so that the command line and the workflow check names without importing torch.

Each rule lives here once; :func:`check` applies all of them to a task's resolved settings and raises
``ValueError`` naming the key, the value and the valid choices. ``tasks.build`` calls it once per
process for a job's settings (:func:`sdo_bench.tasks.resolve`).
"""

from __future__ import annotations

import math
import re

#: names of the floating-point types a task runs in (``torch.<name>``)
DTYPES = ("float32", "float64", "float16", "bfloat16")
#: the cost model's types: paper-scale models run in half precision or float32
COST_DTYPES = ("float16", "bfloat16", "float32")
#: the kernels of ``scaled_dot_product_attention`` the cost model can price
ATTENTION = ("flash", "math")
OPTIMIZERS = ("adam", "sgd")
#: priors on x_T (:mod:`sdo_bench.priors`)
PRIORS = ("none", "norm", "dno")
DEVICE = re.compile(r"cpu|cuda(:\d+)?")

#: every task's settings, besides its own defaults (`sdo-bench list`: "also ...")
COMMON = (
    "steps",
    "seed",
    "dtype",
    "batch",
    "iterations",
    "lr",
    "optimizer",
    "device",
    "start_step",
    "prior",
    "prior_weight",
)


def choice(key: str, value, valid) -> str:
    if value not in valid:
        raise ValueError(f"unknown {key} {value!r}; valid choices: {', '.join(valid)}")
    return value


def integer(key: str, value, least: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer, got {value!r}")
    if least is not None and value < least:
        raise ValueError(f"{key} must be >= {least}, got {value}")
    return value


def number(key: str, value, *, positive: bool = False) -> float:
    """A finite number, > 0 with ``positive`` and >= 0 otherwise."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if not ok or (value <= 0 if positive else value < 0):
        raise ValueError(f"{key} must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}")
    return float(value)


def device(value) -> str:
    if not DEVICE.fullmatch(str(value)):
        raise ValueError(f"unknown device {value!r}; valid choices: cpu, cuda, cuda:N")
    return str(value)


def check(settings: dict) -> dict:
    """The common settings of a task's resolved settings, each by its rule (unset ones are skipped)."""
    s = settings
    for key in ("steps", "batch", "iterations"):
        if s.get(key) is not None:
            integer(key, s[key], least=1)
    for key in ("seed", "start_step"):
        if s.get(key) is not None:
            integer(key, s[key], least=0)
    start = s.get("start_step") or 0
    if start and not start < (s.get("steps") or 1):
        raise ValueError(f"start_step must be in 0..N-1 = {(s.get('steps') or 1) - 1}, got {start}")
    if s.get("lr") is not None:
        number("lr", s["lr"], positive=True)
    if s.get("prior_weight") is not None:
        number("prior_weight", s["prior_weight"])
    choice("prior", s.get("prior") or "none", PRIORS)
    choice("optimizer", s.get("optimizer", "adam"), OPTIMIZERS)
    choice("dtype", s.get("dtype", "float32"), DTYPES)
    device(s.get("device", "cpu"))
    return settings
