"""Gradients against the exact one: :func:`fidelity` (a run's first gradient against ``bptt``'s at the
same parameters, the record's ``grad_cosine_vs_exact``) and :func:`gradcheck` (every method's, as a
table: ``sdo-bench gradcheck``)."""

from __future__ import annotations

import torch

from .. import tasks as _tasks
from ..measure.counters import agreement, is_oom
from ..methods import build as build_method
from ..spec.variant import Variant


def fidelity(task, method, first, budget: int | None, exact=None, keep: dict | None = None) -> dict:
    """Cosine and relative norm of ``first`` (``method``'s gradient at the current parameters) against
    the exact ``bptt`` gradient, or a note why there is none (it did not fit, or is zero). ``exact``:
    that gradient, where the caller has it at these parameters; ``keep``: where to leave it (key
    ``exact``) for the next caller."""
    if method.name == "bptt":
        exact = first
    elif exact is None:
        try:
            exact = build_method(Variant("bptt")).gradient(task, measure_graph=budget is not None)
        except Exception as exc:  # noqa: BLE001
            if not is_oom(exc):
                raise
            if task.device.type == "cuda":
                torch.cuda.empty_cache()
            return {"fidelity_note": f"exact bptt gradient did not fit in memory ({type(exc).__name__})"}
        if budget is not None and exact.graph_bytes > budget:
            return {
                "fidelity_note": f"exact bptt gradient needs {exact.graph_bytes} graph bytes, over "
                f"memory_budget_bytes {budget}"
            }
        if keep is not None:
            keep["exact"] = exact
    agree = agreement(first.grads, exact.grads)
    if agree["cosine"] is None:
        return {"fidelity_note": "exact gradient is zero"}
    return {"grad_cosine_vs_exact": agree["cosine"], "grad_relnorm_vs_exact": agree["relnorm"]}


def gradcheck(task: _tasks.Task, variants: list[Variant] | None = None) -> list[dict]:
    """Every variant's first gradient against the exact ``bptt`` gradient at the same parameters (default
    variants: each registered method's ``examples(N)``). One row per variant."""
    from ..methods import REGISTRY

    if variants is None:
        variants = [Variant(n, o) for n, cls in REGISTRY.items() for o in cls.examples(task.steps)]
    exact = build_method(Variant("bptt")).gradient(task)
    rows = []
    for v in variants:
        res = build_method(v).gradient(task)
        row = {
            "variant": v.label,
            "status": res.status,
            "nfe_forward": res.nfe_forward,
            "nfe_backward": res.nfe_backward,
            "graph_bytes": res.graph_bytes,
        }
        if res.status == "ok":
            row.update(agreement(res.grads, exact.grads))
        rows.append(row)
    return rows


def text(name: str, as_json: bool = False, **settings) -> str:
    """``sdo-bench gradcheck``: :func:`gradcheck` of task ``name`` as a table (or JSON rows)."""
    task = _tasks.build(name, **settings)
    if as_json:
        import json

        from ..records.io import _clean

        info = {"task": name, "steps": task.steps, "dtype": task.config["dtype"]}
        return json.dumps({**info, "rows": _clean(gradcheck(task))}, indent=1, default=str)
    lines = [
        f"{name}: N={task.steps}, dtype={task.config['dtype']}",
        f"{'method':22s} {'status':15s} {'rel. error':>11s} {'cosine':>8s} {'nfe fwd/bwd':>12s} "
        f"{'graph bytes':>12s}",
    ]
    for r in gradcheck(task):
        nums = (
            ""
            if r["status"] != "ok"
            else (
                f"{r['rel_error']:11.3e} {r['cosine']:8.4f} {r['nfe_forward']:>5d}/{r['nfe_backward']:<6d} "
                f"{r['graph_bytes']:12d}"
            )
        )
        lines.append(f"{r['variant']:22s} {r['status']:15s} {nums}".rstrip())
    return "\n".join(lines)
