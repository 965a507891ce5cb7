"""The scaling sweep: one :func:`sdo_bench.experiment.run` per number of steps N, a few iterations each,
in one process (the scaling and fidelity figures); :func:`sweep_variants` sweeps several variants of a
task in one process (a workflow job: one interpreter start and one set of imports for all of them)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

from tqdm.auto import tqdm

from .. import tasks as _tasks
from ..methods import build as build_method
from ..methods import check_variants
from ..records.io import check_outputs
from ..spec.settings import TASK_LABEL, VARIANT_LABEL, label
from ..spec.variant import Variant
from .live import quiet
from .runner import run


def _resolved(name: str, settings: dict, variant: Variant, steps: list[int], where: str = "") -> dict:
    """Each N's resolved task settings, the variant's options checked against each (``ValueError``
    naming the N, after ``where``)."""
    resolved = {n: _tasks.settings_for(name, **dict(settings, steps=n)) for n in steps}
    for n, s in resolved.items():
        try:
            build_method(variant).check(SimpleNamespace(steps=n - (s.get("start_step") or 0)))
        except ValueError as e:
            raise ValueError(f"{where}--steps {n}: {e}") from None
    return resolved


def _labels(variant: Variant, task_label: str | None) -> None:
    label("variant label", variant.label, VARIANT_LABEL)
    if task_label is not None:
        label("task label", task_label, TASK_LABEL)


def sweep(
    name: str,
    settings: dict,
    variant: Variant,
    steps: list[int],
    outs: list,
    *,
    memory_budget_bytes: int | None = None,
    progress: bool | None = None,
    task_label: str | None = None,
) -> list[dict]:
    """One run of task ``name`` (``settings`` as for ``tasks.build``) per N in ``steps``; the record of
    ``steps[i]`` goes to ``outs[i]``. Every N (its settings and the method's options against it) and
    every output path is checked before the first run: bad input raises ``ValueError`` and writes
    nothing."""
    if len(outs) != len(steps):
        raise ValueError(f"give one --out per N: {len(steps)} values of --steps, {len(outs)} --out")
    settings = {k: v for k, v in settings.items() if k != "steps"}
    _labels(variant, task_label)
    if len(set(steps)) != len(steps):
        raise ValueError(f"--steps {steps} lists an N twice; give each N once")
    resolved = _resolved(name, settings, variant, steps)
    check_outputs([("--out", o) for o in outs])
    # one unrecorded gradient at the smallest N first, so that one-time allocations (lazy module
    # init, allocator arenas) do not land in the first N's peak-memory figure
    try:
        build_method(variant).gradient(_tasks.make(name, resolved[min(steps)], explicit=settings))
    except Exception:  # noqa: BLE001 - the recorded runs below record any failure
        pass
    records = []
    for n, out in tqdm(list(zip(steps, outs)), desc=f"{name} {variant.label} sweep", disable=quiet(progress)):
        rec = run(
            _tasks.make(name, resolved[n], explicit=settings),
            variant,
            out=out,
            memory_budget_bytes=memory_budget_bytes,
            progress=False,
            task_label=task_label,
        )
        records.append(rec)
        print(f"{name} {variant.label} N={n}: {rec['status']}", file=sys.stderr, flush=True)
    return records


def sweep_variants(
    name: str, settings: dict, variants: list[Variant], steps: list[int], outs: list, **kw
) -> list[dict]:
    """:func:`sweep` for each variant in turn, in this process. ``outs`` holds one path per variant and
    N, variant by variant (each in the order of ``steps``). Every variant, N and output is checked
    before the first run."""
    n = len(steps)
    if len(outs) != n * len(variants):
        raise ValueError(
            f"give one --out per variant and N: {len(variants)} variants x {n} values of --steps, "
            f"{len(outs)} --out"
        )
    check_variants(variants)
    plain = {k: v for k, v in settings.items() if k != "steps"}
    for v in variants:  # every bad method, option or N against every variant before the first run
        _labels(v, kw.get("task_label"))
        _resolved(name, plain, v, steps, where=f"{v.label}: ")
    check_outputs([("--out", o) for o in outs])
    records = []
    for i, v in enumerate(variants):
        records += sweep(name, settings, v, steps, outs[i * n : (i + 1) * n], **kw)
    return records
