"""The cost model's extrapolation in N (:func:`sdo_bench.cost.predict_steps`): exact predictions at three
consecutive N, the smallest at which the variant runs and its figures lie on a line, and the line through
them for larger N (the figures are integers: bytes, FLOPs, network evaluations, so "on a line" is checked
exactly). Only variants whose cost is affine in N by construction (``GradientMethod.affine_cost``) are
extrapolated; tests compare extrapolated and direct rows.

The line is looked for from N = 1, 2, 3 (from the smallest N the variant's options allow: DRaFT-K's K)
and, where those rows are not on one (a variant whose first step is special), one N later; a variant with
no line there is predicted directly at every N. Each predicted N costs one gradient on fake tensors whose
time grows with N, so N = 1, 2, 3 is the cheapest base there is (6 sampling steps against 9 for
N = 2, 3, 4).
"""

from __future__ import annotations

from collections.abc import Callable

#: how many bases are tried (each one N later than the last), and the largest N a first base may start at
TRIES = 2
LAST_START = 8
AFFINE_KEYS = ("peak_tensor_bytes", "weights_bytes", "activation_bytes", "optimizer_state_bytes",
               "nfe_forward", "nfe_backward", "flops_forward", "flops_backward")  # fmt: skip


def affine_in_n(rows: list[dict | None]) -> bool:
    """Whether every figure of three rows at consecutive N lies on a line in N (second differences exactly
    zero)."""
    if len(rows) != 3 or not all(r is not None and r["status"] == "ok" for r in rows):
        return False
    a, b, c = rows
    return all(c[k] - b[k] == b[k] - a[k] for k in AFFINE_KEYS)


def find_base(
    at: Callable[[int], dict], tries: int = TRIES, last_start: int = LAST_START
) -> tuple[int, ...] | None:
    """The first three consecutive N whose rows (``at(n)``: the exact prediction at N = n, remembered by
    the caller) lie on a line, starting at the smallest N the variant runs at (``at`` raises
    ``ValueError`` below it: DRaFT-K needs K steps; none up to ``last_start``: no base) and trying
    ``tries`` starts one N apart; None where there is none. A row that is not ok (the method cannot run on
    fake tensors) ends the search, since no other N will run either."""
    rows: dict[int, dict] = {}
    first = None
    for n in range(1, last_start + 1):
        try:
            rows[n] = at(n)
        except ValueError:
            continue
        first = n
        break
    if first is None:
        return None
    for start in range(first, first + tries):
        base = (start, start + 1, start + 2)
        for n in base:
            if n not in rows:
                rows[n] = at(n)
            if rows[n]["status"] != "ok":
                return None
        if affine_in_n([rows[n] for n in base]):
            return base
    return None


def extrapolated(a: dict, b: dict, base: tuple[int, int, int], steps: int) -> dict:
    """The row at N = ``steps`` on the line through ``a`` and ``b``, the rows at the first two N of
    ``base`` (:func:`find_base` found it), saying so (``extrapolated_from``); its per-GPU figures are the
    caller's to recompute."""
    row = dict(a, steps=steps, extrapolated_from=list(base))
    for k in AFFINE_KEYS:
        row[k] = a[k] + (steps - base[0]) * (b[k] - a[k])
    return row
