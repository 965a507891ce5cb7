"""``sdo-bench fit``: "will it fit my card?" — for a task, each method, a dtype, batch and attention
kernel: the largest N whose predicted peak tensor bytes, with the card's reserve (:mod:`.cards`), fit
each card; and, at a given N, the largest batch.

Memory is affine in N for every variant whose cost is affine by construction, and the extrapolation
already finds that line exactly (:func:`.extrapolation.find_base`: three exact predictions on a line, the
second differences zero to the byte), so the largest N is one division: ``N_max = n0 + floor((available -
peak(n0)) / slope)``. A variant flat in N, or one whose line stays under the card up to the schedulers'
:data:`~sdo_bench.spec.settings.MAX_STEPS` (checkpointing keeps one latent per step: bytes, not GiB),
fits at **any** N where it fits at all; one whose smallest N does not fit fits **none**. A variant
whose cost is not affine in N (a random number of kept steps) is searched by bisection over direct
predictions. The largest batch at an N takes the same line
in the batch (predictions at three consecutive batches, checked exactly), else bisection.

Every answer is a prediction (fake tensors, no weights), and the reserve says what it assumes about
CUDA's own overhead (measured for the card, or the rule of thumb).
"""

from __future__ import annotations

from ..measure.tracker import modules_unchanged
from ..methods import build as build_method
from ..spec.settings import MAX_STEPS
from ..spec.variant import Variant
from .cards import GPUS, reserve
from .extrapolation import affine_in_n, find_base
from .predict import _at_steps, _fake_task, _measure, check, fake_models, predict

#: the largest batch `fit` looks for
MAX_BATCH = 4096


def _available(card: str) -> tuple[int, int, str]:
    memory = GPUS[card][0]
    extra, source = reserve(card)
    return memory, extra, source


def _largest(fits, lo: int, hi: int) -> int | None:
    """The largest x in [lo, hi] with ``fits(x)``, given that fitting is monotone (None: not even lo)."""
    if not fits(lo):
        return None
    if fits(hi):
        return hi
    while hi - lo > 1:  # fits(lo), not fits(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def _line_answer(a: dict, b: dict, x0: int, avail: int, most: int) -> int | str:
    """The largest x >= x0 with peak(x) <= avail on the line through rows ``a`` (at x0) and ``b``."""
    peak, slope = a["peak_tensor_bytes"], b["peak_tensor_bytes"] - a["peak_tensor_bytes"]
    if peak > avail:
        return "none"
    if slope <= 0 or x0 + (avail - peak) // slope >= most:
        return "any"  # flat, or fits at every x up to the most there is (N: the schedulers' 1000 steps)
    return x0 + (avail - peak) // slope


def fit(
    task: str,
    variants: list[Variant],
    *,
    dtype: str = "float16",
    batch: int | None = None,
    attention: str = "flash",
    settings: dict | None = None,
    cards: list[str] | None = None,
    steps: int | None = None,
) -> list[dict]:
    """One row per (variant, card): ``max_steps`` (an integer, ``"any"`` or ``"none"``) at ``batch``,
    and with ``steps``, ``max_batch`` at that N; what each rests on (the base predictions, the reserve)."""
    cards = list(cards or GPUS)
    for c in cards:
        if c not in GPUS:
            raise ValueError(f"unknown card {c!r}; valid choices: {', '.join(GPUS)}")
    _from_x_T(task, settings or {})
    check(task, [steps or 1], dtype, attention, batch)
    for v in variants:
        build_method(v)
    out = []
    with fake_models(attention), modules_unchanged():  # the models built once; each variant swaps N only
        t = _fake_task(task, 1, dtype, batch, settings)
        for v in variants:
            out += _steps_rows(t, task, v, dtype, attention, batch, cards)
    if steps is not None:
        _batches(out, task, variants, steps, dtype, attention, settings, cards)
    return out


def _from_x_T(task: str, settings: dict) -> None:
    """``fit`` grows N from x_T; a task that runs only the tail of its chain (the authors' regimes:
    ``start_step``, or a real image inverted ``invert_steps``) has its N fixed: one line saying what to
    ask instead."""
    from ..tasks import spec

    resolved = {**spec(task).defaults, **settings}
    for key in ("start_step", "invert_steps"):
        if resolved.get(key):
            raise ValueError(
                f"fit grows N from x_T, and {task} runs a fixed tail of its chain ({key} "
                f"{resolved[key]}): predict it at its own N with `sdo-bench cost --task {task} --steps N "
                "--batch B`, or --set start_step=0 where the task takes it"
            )


def _steps_rows(t, task: str, v: Variant, dtype: str, attention: str, batch, cards) -> list[dict]:
    rows: dict[int, dict] = {}

    def at(n):
        if n not in rows:
            rows[n] = _measure(_at_steps(t, n), task, v, dtype, attention)
        return rows[n]

    base = find_base(at) if build_method(v).affine_cost() else None
    lowest = base[0] if base else _smallest(at)
    failed = next((r for r in rows.values() if r["status"] != "ok"), None)
    out = []
    for card in cards:
        memory, extra, source = _available(card)
        avail = memory - extra
        row = {"task": task, "variant": v.label, "method": v.method, "card": card, "dtype": dtype,
               "batch": batch, "attention": attention, "memory_bytes": memory, "reserve_bytes": extra,
               "reserve": source, "kind": "predicted", "status": "ok", "error": None}  # fmt: skip
        if failed is not None or lowest is None:
            row.update(max_steps=None, status="error", error=failed["error"] if failed else "runs at no N")
        elif base is not None:
            a, b = rows[base[0]], rows[base[1]]
            row.update(max_steps=_line_answer(a, b, base[0], avail, MAX_STEPS),
                       rests_on=f"the exact line through N = {', '.join(map(str, base))}")  # fmt: skip
        else:
            best = _largest(_under(at, avail), lowest, MAX_STEPS)
            best = "none" if best is None else "any" if best == MAX_STEPS else best
            row.update(max_steps=best,
                       rests_on="direct predictions (bisection; not affine in N)")  # fmt: skip
        out.append(row)
    return out


class _Cached:
    """A prediction per argument, made once."""

    def __init__(self, fn):
        self.fn, self.rows = fn, {}

    def __call__(self, x):
        if x not in self.rows:
            self.rows[x] = self.fn(x)
        return self.rows[x]


def _under(at, avail: int):
    """Whether the prediction at x is ok and its peak fits ``avail`` bytes."""
    return lambda x: at(x)["status"] == "ok" and at(x)["peak_tensor_bytes"] <= avail


def _smallest(at, most: int = 8) -> int | None:
    """The smallest N the variant runs at (its options may need several steps: DRaFT-K's K)."""
    for n in range(1, most + 1):
        try:
            at(n)
        except ValueError:
            continue
        return n
    return None


def _batches(out, task, variants, steps, dtype, attention, settings, cards) -> None:
    """``max_batch`` at N = ``steps`` for each row of ``out`` (the line in the batch, else bisection)."""
    for v in variants:
        at = _Cached(lambda b, v=v: predict(task, v, steps, dtype=dtype, batch=b, attention=attention,
                                             settings=settings))  # fmt: skip
        line = [at(b) for b in (1, 2, 3)]
        affine = affine_in_n(line)
        for row in (r for r in out if r["variant"] == v.label):
            avail = row["memory_bytes"] - row["reserve_bytes"]
            if line[0]["status"] != "ok":
                row["max_batch"] = None
            elif affine:
                row["max_batch"] = _line_answer(line[0], line[1], 1, avail, MAX_BATCH)
            else:
                best = _largest(_under(at, avail), 1, MAX_BATCH)
                row["max_batch"] = "none" if best is None else "any" if best == MAX_BATCH else best
            row["at_steps"] = steps
