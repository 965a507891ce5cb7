"""The one comparison of two measurements, behind ``sdo-bench regress`` (a fresh measurement against
``benchmarks/baseline.json``) and ``sdo-bench compare`` (two results folders or record files).

Both hold, per case (a task x variant, or a regress case), a dict of figures, and judge them the same
way:

* **exact** figures (status, peak tensor bytes, graph bytes, network evaluations): deterministic for a
  given code, task and seed, so any difference is a change, and a failure;
* **ratio** figures (times): B / A - 1 above ``tolerance`` fails ("grew"), below ``-tolerance`` is
  reported as improved, anything between is noise and not reported;
* **shift** figures (rewards, objectives: one value per seed): the mean paired difference B - A over
  the seeds both hold, with its 95% interval (:func:`sdo_bench.report.stats.interval`); a shift whose
  interval lies wholly below 0 fails, wholly above is improved, and one that contains 0 is noise. With
  one seed, or identical values, there is no interval: any difference is reported, a fall fails.

A case in only one of the two is a failure ("missing"). ``ok`` is False when any row failed.
"""

from __future__ import annotations

import math

ROW_KEYS = ("case", "figure", "a", "b", "change", "verdict")


def check_tolerance(tolerance: float) -> float:
    """``--tolerance``: a finite number > 0 (nan or inf would make a check that can never fail)."""
    if not (math.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"--tolerance must be a finite number > 0, got {tolerance}")
    return tolerance


def _row(case, figure, a, b, change, verdict) -> dict:
    return dict(zip(ROW_KEYS, (case, figure, a, b, change, verdict)))


def compare(
    a: dict[str, dict],
    b: dict[str, dict],
    *,
    exact=(),
    ratios=(),
    shifts=(),
    tolerance: float = 0.2,
    missing_a: str = "in A",
    missing_b: str = "in B",
    improved: str = "improved",
) -> tuple[bool, list[dict]]:
    """Rows of what moved, per case and figure (:data:`ROW_KEYS`; ``a`` and ``b`` the two values);
    ``ok`` is False if any row is a failure. ``missing_a`` / ``missing_b`` name the side a case is
    missing from in its verdict; ``improved`` is the verdict of a ratio that fell beyond tolerance."""
    rows, ok = [], True
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            rows.append(
                _row(
                    key,
                    "-",
                    key in a,
                    key in b,
                    "",
                    "FAIL: missing " + (missing_a if key not in a else missing_b),
                )
            )
            ok = False
            continue
        fa, fb = a[key], b[key]
        for fig in exact:
            if fa.get(fig) != fb.get(fig):
                rows.append(_row(key, fig, fa.get(fig), fb.get(fig), "", "FAIL: must match exactly"))
                ok = False
        for fig in ratios:
            va, vb = fa.get(fig), fb.get(fig)
            if not _finite(va) or not _finite(vb) or va == 0:
                continue
            change = vb / va - 1
            if change > tolerance:
                verdict, ok = f"FAIL: grew more than {tolerance:.0%}", False
            elif change < -tolerance:
                verdict = improved
            else:
                continue
            rows.append(_row(key, fig, round(va, 4), round(vb, 4), f"{change:+.1%}", verdict))
        for fig in shifts:
            row = _shift(key, fig, fa.get(fig) or {}, fb.get(fig) or {})
            if row is not None:
                ok = ok and not row["verdict"].startswith("FAIL")
                rows.append(row)
    return ok, rows


def _shift(key, fig, va: dict, vb: dict) -> dict | None:
    """``va``, ``vb``: seed -> value. The paired mean difference over the common seeds and its interval."""
    from ..report.stats import interval

    seeds = sorted(s for s in set(va) & set(vb) if _finite(va[s]) and _finite(vb[s]))
    if not seeds:
        return None
    d = [vb[s] - va[s] for s in seeds]
    if all(x == 0 for x in d):
        return None
    m, lo, hi = interval(d)
    ma = sum(va[s] for s in seeds) / len(seeds)
    mb = sum(vb[s] for s in seeds) / len(seeds)
    if math.isfinite(lo) and lo != hi:
        change = f"{m:+.4g} [{lo:+.4g}, {hi:+.4g}] over {len(seeds)} seeds"
        if hi < 0:
            verdict = "FAIL: fell beyond noise (95% interval below 0)"
        elif lo > 0:
            verdict = "improved beyond noise"
        else:
            verdict = "moved within noise (95% interval contains 0)"
    else:
        change = f"{m:+.4g} over {len(seeds)} seed{'s' * (len(seeds) > 1)} (no interval)"
        verdict = "FAIL: fell" if m < 0 else "rose"
    return _row(key, fig, round(ma, 6), round(mb, 6), change, verdict)


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def format_rows(rows: list[dict], names=("a", "b")) -> str:
    """A plain-text table of the rows, the two value columns headed ``names``."""
    if not rows:
        return "nothing moved"
    head = dict(zip(ROW_KEYS, ("case", "figure", *names, "change", "verdict")))
    widths = {c: max(len(head[c]), *(len(str(r[c])) for r in rows)) for c in ROW_KEYS}
    line = lambda r: "  ".join(str(r[c]).ljust(widths[c]) for c in ROW_KEYS).rstrip()  # noqa: E731
    return "\n".join([line(head), line({c: "-" * widths[c] for c in ROW_KEYS})] + [line(r) for r in rows])
