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
#: ``adam-beta2-0.9``: Adam with betas (0.9, 0.9), as the SDO authors' released scripts set it
OPTIMIZERS = ("adam", "adam-beta2-0.9", "sgd")
#: priors on x_T (:mod:`sdo_bench.tasks.priors`)
PRIORS = ("none", "norm", "dno")
#: regularizers of the parameter targets (:mod:`sdo_bench.tasks.regularizers`)
REGULARIZERS = ("none", "kl", "pretrain")
#: what a task optimizes (the second part of its name, docs/design.md §4)
TARGETS = ("latent", "condition", "lora", "weights")
DEVICE = re.compile(r"cpu|cuda(:\d+)?")
#: the largest finite value of each dtype: a setting the task multiplies into its tensors must fit
DTYPE_MAX = {"float32": 3.4028234663852886e38, "float64": 1.7976931348623157e308, "float16": 65504.0,
             "bfloat16": 3.3895313892515355e38}  # fmt: skip
#: every shipped scheduler trains on 1000 timesteps: N above it has no timestep to run
MAX_STEPS = 1000
#: seeds feed torch generators (64-bit) with offsets for held-out noises: well inside them
MAX_SEED = 2**62

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
    "regularizer",
    "regularizer_weight",
)


def choice(key: str, value, valid) -> str:
    if value not in valid:
        raise ValueError(f"unknown {key} {value!r}; valid choices: {', '.join(valid)}")
    return value


def integer(key: str, value, least: int | None = None, most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer, got {value!r}")
    if least is not None and value < least:
        raise ValueError(f"{key} must be >= {least}, got {value}")
    if most is not None and value > most:
        raise ValueError(f"{key} must be <= {most}, got {value}")
    return value


def number(
    key: str, value, *, positive: bool = False, signed: bool = False, dtype: str | None = None
) -> float:
    """A finite number: > 0 with ``positive``, any sign with ``signed``, >= 0 otherwise; with ``dtype``,
    also representable in it."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if not ok or (not signed and (value <= 0 if positive else value < 0)):
        what = "" if signed else (" > 0" if positive else " >= 0")
        raise ValueError(f"{key} must be a finite number{what}, got {value!r}")
    if dtype in DTYPE_MAX and abs(value) > DTYPE_MAX[dtype]:
        raise ValueError(f"{key}={value!r} overflows {dtype} (largest {DTYPE_MAX[dtype]:.4g})")
    return float(value)


def resolution(value, *, multiple: int, top: int, model: str, least: int = 64) -> int:
    """An image side in pixels that ``model`` takes: a multiple of ``multiple`` from ``least`` to ``top``."""
    if isinstance(value, bool) or not isinstance(value, int) or value % multiple or not least <= value <= top:
        raise ValueError(
            f"resolution {value!r} is not supported by {model}: give a multiple of {multiple} px "
            f"from {least} to {top} (--set resolution=1024)"
        )
    return value


#: names that become folder names (a record lives under <task label>/<variant label>/): the
#: workflow's schema holds the same patterns (a test keeps them equal)
TASK_LABEL = re.compile(r"^[a-z0-9]+(-[a-z0-9.]+)*$")
VARIANT_LABEL = re.compile(r"^[A-Za-z0-9_.=-]+$")


def label(key: str, value, pattern: re.Pattern) -> str:
    """A label that is safe as one path component (no ``/``, ``..`` alone, spaces or other bytes)."""
    if not isinstance(value, str) or not pattern.match(value) or value in (".", ".."):
        raise ValueError(
            f"{key} {value!r} cannot name a folder: use letters, digits and {_allowed(pattern)} only "
            f"(pattern {pattern.pattern})"
        )
    return value


def _allowed(pattern: re.Pattern) -> str:
    return "'-' and '.'" if pattern is TASK_LABEL else "'_', '.', '=' and '-'"


def device(value) -> str:
    if not DEVICE.fullmatch(str(value)):
        raise ValueError(f"unknown device {value!r}; valid choices: cpu, cuda, cuda:N")
    return str(value)


def check(settings: dict, target: str | None = None) -> dict:
    """The common settings of a task's resolved settings, each by its rule (unset ones are skipped);
    with ``target``, also that a prior goes with the latent target and a regularizer with the others."""
    s = settings
    dtype = choice("dtype", s.get("dtype", "float32"), DTYPES)
    for key, most in (("steps", MAX_STEPS), ("batch", None), ("iterations", None)):
        if s.get(key) is not None:
            integer(key, s[key], least=1, most=most)
    for key, most in (("seed", MAX_SEED), ("start_step", MAX_STEPS)):
        if s.get(key) is not None:
            integer(key, s[key], least=0, most=most)
    start = s.get("start_step") or 0
    if start and not start < (s.get("steps") or 1):
        raise ValueError(f"start_step must be in 0..N-1 = {(s.get('steps') or 1) - 1}, got {start}")
    if s.get("lr") is not None:
        number("lr", s["lr"], positive=True, dtype=dtype)
    if s.get("prior_weight") is not None:
        number("prior_weight", s["prior_weight"], dtype=dtype)
    choice("prior", s.get("prior") or "none", PRIORS)
    if s.get("regularizer_weight") is not None:
        number("regularizer_weight", s["regularizer_weight"], dtype=dtype)
    choice("regularizer", s.get("regularizer") or "none", REGULARIZERS)
    choice("optimizer", s.get("optimizer", "adam"), OPTIMIZERS)
    device(s.get("device", "cpu"))
    if target == "latent" and (s.get("regularizer") or "none") != "none":
        raise ValueError(
            f"regularizer {s['regularizer']!r} applies to condition, lora and weights tasks, not to a "
            "latent one (set regularizer: none; x_T takes a prior: prior: norm | dno)"
        )
    if target not in (None, "latent") and (s.get("prior") or "none") != "none":
        raise ValueError(
            f"prior {s['prior']!r} is a prior on x_T and applies to latent tasks only; this task "
            f"optimizes {target} (set prior: none; regularizer: kl | pretrain)"
        )
    return settings


def target_of(name: str) -> str:
    """The target in a task name ``<model>-<target>[-<reward>]`` (the first part that is one)."""
    for part in name.split("-"):
        if part in TARGETS:
            return part
    raise ValueError(
        f"task name {name!r} names no target; a task is <model>-<target>[-<reward>], "
        f"target one of {', '.join(TARGETS)}"
    )


def optional(rule, key: str, value, *args, **kw):
    """``rule(key, value, ...)`` unless the value is unset (None)."""
    return None if value is None else rule(key, value, *args, **kw)


def boolean(key: str, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {value!r}")
    return value


def strings(key: str, value) -> list[str]:
    """A non-empty list of non-empty strings (a single string counts as a list of one)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(p, str) and p for p in items):
        raise ValueError(f"{key} must be a non-empty list of strings, got {value!r}")
    return items
