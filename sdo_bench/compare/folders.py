"""``sdo-bench compare A B``: two results folders (or record files) side by side, per task x variant.

For each case present in either: time per iteration, peak tensor memory, final reward and objective of
A and B, with B / A (B - A for rewards); then what moved beyond noise, judged by the one comparison
``regress`` also uses (:mod:`sdo_bench.compare.rule`): the deterministic figures (status, peak tensor
bytes, graph bytes, network evaluations, seed by seed) must be equal, the time per iteration may not
grow by more than ``tolerance``, and a reward or objective that falls beyond its 95% interval over the
paired seeds fails; and where each side came from (commit, device, package versions). Exit code 1 on a
regression, so that CI can gate on it.

A and B are each a results folder (its run records under ``raw/``, or any record found below it), a
record file, a JSON list of records or a JSON-lines file of them.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ..records.io import compared_seconds

#: deterministic per seed; a difference is a change
EXACT = ("status", "peak_tensor_bytes", "graph_bytes", "nfe_forward", "nfe_backward")
RATIOS = ("time_per_iter_s",)
SHIFTS = ("reward_final", "objective_final")


def load(path, problems: list[str] | None = None) -> list[dict]:
    """The run records of a results folder or a records file. Every record is read through the one
    reader (:func:`sdo_bench.records.io.read_record`: regular files only, size-limited, checked against
    the record type); a damaged one is a line in ``problems`` (or, without that list, a ``ValueError``
    naming the file and field). ``ValueError`` naming the path where there is nothing to read."""
    from ..records.io import check_record, read_json, read_record, record_files

    path = Path(path)
    if not os.path.lexists(path):
        raise ValueError(f"{path}: no such file or folder; give a results folder or a records file")
    records = []
    if path.is_dir():
        for f in record_files(path):
            try:
                records.append(read_record(f))
            except ValueError as e:
                if problems is None:
                    raise
                problems.append(f"damaged: {str(e).splitlines()[0]}")
        if not records and not problems:
            raise ValueError(f"{path}: no run records found (a results folder holds them under raw/)")
        return records
    try:
        items = read_json(path)
    except ValueError as e:
        if "not valid JSON" not in str(e):
            raise
        items = _json_lines(path)
    items = items if isinstance(items, list) else [items]
    if not items:
        raise ValueError(f"{path}: holds no run record")
    return [check_record(r, f"{path}[{i}]" if len(items) > 1 else path) for i, r in enumerate(items)]


def _json_lines(path: Path) -> list:
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except ValueError:
        raise ValueError(f"{path}: not JSON nor JSON lines; give run records") from None


def _key(r: dict) -> str:
    return f"{r.get('task_label') or r['task']}/{r['variant']}"


def completeness(ra: list[dict], rb: list[dict]) -> tuple[list[str], set]:
    """Lines for every (task, variant, seed) one side has and the other lacks, a record given twice on
    one side, and the (case, seed) pairs both sides have."""
    problems = []
    sides = []
    for name, recs in (("A", ra), ("B", rb)):
        seen: dict = {}
        for r in recs:
            k = (_key(r), int(r["seed"]))
            if k in seen:
                problems.append(f"duplicate: {name} holds {k[0]} seed {k[1]} twice")
            seen[k] = r
        sides.append(set(seen))
    a, b = sides
    for k in sorted(a - b):
        problems.append(f"missing: {k[0]} seed {k[1]} is in A but not in B")
    for k in sorted(b - a):
        problems.append(f"missing: {k[0]} seed {k[1]} is in B but not in A")
    return problems, a & b


def _num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


def cases(records: list[dict], common: set | None = None) -> dict[str, dict]:
    """Per ``task/variant``: each figure seed by seed (exact and shift figures) or as the mean over the
    finished seeds (ratios); ``common``: only these (case, seed) pairs, those both sides ran."""
    out: dict[str, dict] = {}
    for r in records:
        key = _key(r)
        if common is not None and (key, int(r["seed"])) not in common:
            continue
        c = out.setdefault(key, {"_seeds": {}})
        c["_seeds"][int(r["seed"])] = r
    for c in out.values():
        seeds = c.pop("_seeds")
        c["seeds"] = len(seeds)
        for fig in EXACT:
            c[fig] = {s: r.get(fig) for s, r in sorted(seeds.items())}
        for fig in SHIFTS:
            c[fig] = {s: _num(r.get(fig)) for s, r in seeds.items() if r.get("status") == "ok"}
        times = [_num(compared_seconds(r)) for r in seeds.values()]
        times = [t for t in times if math.isfinite(t)]
        c["time_per_iter_s"] = sum(times) / len(times) if times else math.nan
        peaks = [_num(r.get("peak_tensor_bytes")) for r in seeds.values()]
        peaks = [p for p in peaks if math.isfinite(p)]
        c["peak_tensor_MiB"] = max(peaks) / 2**20 if peaks else math.nan
    return out


def provenance(records: list[dict]) -> dict:
    """The distinct commits, devices and versions the records came from."""
    prov = [r.get("provenance") or {} for r in records]
    versions: dict[str, list] = {}
    for p in prov:
        for k, v in (p.get("versions") or {}).items():
            versions.setdefault(k, [])
            if v not in versions[k]:
                versions[k].append(v)
    distinct = lambda key: sorted({str(p.get(key)) for p in prov if p.get(key) is not None})  # noqa: E731
    return {"records": len(records), "commit": distinct("git_commit"), "device": distinct("device_name"),
            "versions": versions}  # fmt: skip


def _ratio(a, b):
    return b / a if math.isfinite(a) and math.isfinite(b) and a else math.nan


def _mean(d: dict) -> float:
    vals = [v for v in d.values() if math.isfinite(v)]
    return sum(vals) / len(vals) if vals else math.nan


def compare(a_path, b_path, tolerance: float = 0.5, allow_incomplete: bool = False) -> dict:
    """The side-by-side rows, the rows of what moved, both provenances and the verdict. Fails closed: a
    damaged record on either side, a record given twice, or a (task, variant, seed) one side has and the
    other lacks fails the comparison (``allow_incomplete``: they are reported as warnings, and the
    figures compared on what both sides have). Every figure is taken over the seeds both sides ran."""
    from .rule import check_tolerance
    from .rule import compare as _compare

    check_tolerance(tolerance)
    problems: list[str] = []
    ra, rb = load(a_path, problems), load(b_path, problems)
    incomplete, common = completeness(ra, rb)
    problems += incomplete
    ca, cb = cases(ra, common), cases(rb, common)
    ok, moved = _compare(ca, cb, exact=EXACT, ratios=RATIOS, shifts=SHIFTS, tolerance=tolerance)
    ok = ok and (allow_incomplete or not problems)
    side = []
    for key in sorted(set(ca) | set(cb)):
        x, y = ca.get(key), cb.get(key)
        row = {"case": key, "seeds": (x or y)["seeds"]}
        for fig in ("time_per_iter_s", "peak_tensor_MiB"):
            va = x[fig] if x else math.nan
            vb = y[fig] if y else math.nan
            row.update({f"{fig} A": va, f"{fig} B": vb, f"{fig} B/A": _ratio(va, vb)})
        for fig in SHIFTS:
            va = _mean(x[fig]) if x else math.nan
            vb = _mean(y[fig]) if y else math.nan
            row.update({f"{fig} A": va, f"{fig} B": vb, f"{fig} B-A": vb - va})
        side.append(row)
    return {
        "a": {"path": str(a_path), **provenance(ra)},
        "b": {"path": str(b_path), **provenance(rb)},
        "tolerance": tolerance,
        "cases": side,
        "moved": moved,
        "problems": problems,
        "allow_incomplete": allow_incomplete,
        "ok": ok,
    }


def text(result: dict) -> str:
    from .rule import format_rows

    def prov(name, p):
        v = p["versions"]
        versions = ", ".join(
            f"{k} {'/'.join(map(str, v[k]))}" for k in ("torch", "diffusers", "sdo-bench") if k in v
        )
        commits = ", ".join(c[:12] for c in p["commit"]) or "?"
        return (f"{name}: {p['path']} ({p['records']} records; commit {commits}; "
                f"device {', '.join(p['device']) or '?'}; {versions})")  # fmt: skip

    cols = [("time_per_iter_s", "time/iter s"), ("peak_tensor_MiB", "peak MiB")]
    head = ["case", "seeds"] + [f"{n} {s}" for _, n in cols for s in ("A", "B", "B/A")]
    head += [f"{f.split('_')[0]} {s}" for f in SHIFTS for s in ("A", "B", "B-A")]
    lines = []
    for r in result["cases"]:
        cells = [r["case"], str(r["seeds"])]
        for fig, _ in cols:
            cells += [_fmt(r[f"{fig} A"]), _fmt(r[f"{fig} B"]), _fmt(r[f"{fig} B/A"], "{:.3f}x")]
        for fig in SHIFTS:
            cells += [_fmt(r[f"{fig} A"]), _fmt(r[f"{fig} B"]), _fmt(r[f"{fig} B-A"], "{:+.4g}")]
        lines.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in lines)) if lines else len(h) for i, h in enumerate(head)]
    table = [
        "  ".join(h.ljust(w) for h, w in zip(head, widths)),
        "  ".join("-" * w for w in widths),
        *("  ".join(c.ljust(w) for c, w in zip(cells, widths)) for cells in lines),
    ]
    verdict = "PASS" if result["ok"] else "FAIL"
    tag = "warning" if result["allow_incomplete"] else "FAIL"
    problems = [f"{tag}: {p}" for p in result["problems"]]
    return "\n".join([
        *problems, *([""] if problems else []),
        prov("A", result["a"]), prov("B", result["b"]), "", *table, "",
        "what moved beyond noise (B against A):",
        format_rows(result["moved"], ("A", "B")), "",
        f"compare: {verdict} (it passes when every record is readable and on both sides, the deterministic "
        f"figures are equal, the time per iteration grew by at most {result['tolerance']:.0%} and no "
        f"reward or objective fell beyond its 95% interval"
        + (f"; {len(result['problems'])} damaged or missing records" if result["problems"] else "") + ")",
    ])  # fmt: skip


def _fmt(v, spec="{:.4g}") -> str:
    return spec.format(v) if isinstance(v, float) and math.isfinite(v) else "-"


def command(
    a_path, b_path, tolerance: float = 0.5, as_json: bool = False, allow_incomplete: bool = False
) -> tuple[int, str]:
    result = compare(a_path, b_path, tolerance, allow_incomplete)
    if as_json:
        from ..records.io import _clean

        return (0 if result["ok"] else 1), json.dumps(_clean(result), indent=1, default=str)
    body = text(result)
    return (0 if result["ok"] else 1), body
