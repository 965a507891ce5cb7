"""The cost model's extrapolation in N (:func:`sdo_bench.cost.predict_steps`): the rows at N = 2, 3 and 4,
exact predictions, and the line through them where every figure lies on it exactly (the figures are
integers: bytes, FLOPs, network evaluations). Only variants whose cost is affine in N by construction
(``GradientMethod.affine_cost``) are extrapolated; tests compare extrapolated and direct rows.
"""

from __future__ import annotations

#: the N an extrapolated prediction is taken from, and the figures it extrapolates
AFFINE_BASE = (2, 3, 4)
AFFINE_KEYS = ("peak_tensor_bytes", "weights_bytes", "activation_bytes", "optimizer_state_bytes",
               "nfe_forward", "nfe_backward", "flops_forward", "flops_backward")  # fmt: skip


def affine_in_n(base: dict[int, dict]) -> bool:
    """Whether every figure of the rows at N = 2, 3, 4 lies on a line in N (second differences exactly
    zero)."""
    a, b, c = (base.get(n) for n in AFFINE_BASE)
    if not all(r is not None and r["status"] == "ok" for r in (a, b, c)):
        return False
    return all(c[k] - b[k] == b[k] - a[k] for k in AFFINE_KEYS)


def extrapolated(base: dict[int, dict], steps: int) -> dict:
    """The row at N = ``steps`` on the line through the rows at N = 2 and 3 (:func:`affine_in_n` holds),
    saying so (``extrapolated_from``); its per-GPU figures are the caller's to recompute."""
    a, b = base[AFFINE_BASE[0]], base[AFFINE_BASE[1]]
    row = dict(a, steps=steps, extrapolated_from=list(AFFINE_BASE))
    for k in AFFINE_KEYS:
        row[k] = a[k] + (steps - AFFINE_BASE[0]) * (b[k] - a[k])
    return row
