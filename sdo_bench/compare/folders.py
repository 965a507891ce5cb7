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
from pathlib import Path

#: deterministic per seed; a difference is a change
EXACT = ("status", "peak_tensor_bytes", "graph_bytes", "nfe_forward", "nfe_backward")
RATIOS = ("time_per_iter_s",)
SHIFTS = ("reward_final", "objective_final")
NEEDED = {"task", "variant", "seed", "status"}


def load(path) -> list[dict]:
    """The run records of a results folder or a records file (``ValueError`` naming the path if none)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder; give a results folder or a records file")
    if path.is_dir():
        root = path / "raw" if (path / "raw").is_dir() else path
        files = sorted(p for p in root.rglob("*.json") if "kept" not in p.relative_to(root).parts)
        records = [r for f in files for r in _read(f, strict=False)]
    else:
        records = _read(path, strict=True)
    if not records:
        raise ValueError(f"{path}: no run records found (a results folder holds them under raw/)")
    return records


def _read(path: Path, strict: bool) -> list[dict]:
    text = path.read_text()
    try:
        items = json.loads(text)
    except ValueError:
        try:
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            if strict:
                raise ValueError(f"{path}: not JSON nor JSON lines; give run records") from None
            return []
    items = items if isinstance(items, list) else [items]
    records = [r for r in items if isinstance(r, dict) and NEEDED <= set(r)]
    if strict and not records:
        raise ValueError(f"{path}: holds no run record (a record has task, variant, seed and status)")
    return records


def _num(v):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


def cases(records: list[dict]) -> dict[str, dict]:
    """Per ``task/variant``: each figure seed by seed (exact and shift figures) or as the mean over the
    finished seeds (ratios)."""
    out: dict[str, dict] = {}
    for r in records:
        key = f"{r.get('task_label') or r['task']}/{r['variant']}"
        c = out.setdefault(key, {"_seeds": {}})
        c["_seeds"][int(r["seed"])] = r
    for c in out.values():
        seeds = c.pop("_seeds")
        for fig in EXACT:
            c[fig] = {s: r.get(fig) for s, r in sorted(seeds.items())}
        for fig in SHIFTS:
            c[fig] = {s: _num(r.get(fig)) for s, r in seeds.items() if r.get("status") == "ok"}
        times = [_num((r.get("time_per_iter_s") or {}).get("median")) for r in seeds.values()]
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


def _common(a: dict, b: dict) -> tuple[dict, dict]:
    """The exact figures on the seeds both sides ran (another seed list is not a change of a method)."""
    a, b = {k: dict(v) for k, v in a.items()}, {k: dict(v) for k, v in b.items()}
    for key in set(a) & set(b):
        for fig in EXACT:
            seeds = set(a[key][fig]) & set(b[key][fig])
            a[key][fig] = {s: a[key][fig][s] for s in sorted(seeds)}
            b[key][fig] = {s: b[key][fig][s] for s in sorted(seeds)}
    return a, b


def _ratio(a, b):
    return b / a if math.isfinite(a) and math.isfinite(b) and a else math.nan


def _mean(d: dict) -> float:
    vals = [v for v in d.values() if math.isfinite(v)]
    return sum(vals) / len(vals) if vals else math.nan


def compare(a_path, b_path, tolerance: float = 0.5) -> dict:
    """The side-by-side rows, the rows of what moved, both provenances and the verdict."""
    from .rule import check_tolerance
    from .rule import compare as _compare

    check_tolerance(tolerance)
    ra, rb = load(a_path), load(b_path)
    ca, cb = _common(cases(ra), cases(rb))
    ok, moved = _compare(ca, cb, exact=EXACT, ratios=RATIOS, shifts=SHIFTS, tolerance=tolerance)
    side = []
    for key in sorted(set(ca) | set(cb)):
        x, y = ca.get(key), cb.get(key)
        row = {"case": key}
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
    head = ["case"] + [f"{n} {s}" for _, n in cols for s in ("A", "B", "B/A")]
    head += [f"{f.split('_')[0]} {s}" for f in SHIFTS for s in ("A", "B", "B-A")]
    lines = []
    for r in result["cases"]:
        cells = [r["case"]]
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
    return "\n".join([
        prov("A", result["a"]), prov("B", result["b"]), "", *table, "",
        "what moved beyond noise (B against A):",
        format_rows(result["moved"], ("A", "B")), "",
        f"compare: {verdict} (it passes when the deterministic figures are equal, the time per iteration "
        f"grew by at most {result['tolerance']:.0%} and no reward or objective fell beyond its 95% interval)",
    ])  # fmt: skip


def _fmt(v, spec="{:.4g}") -> str:
    return spec.format(v) if isinstance(v, float) and math.isfinite(v) else "-"


def command(a_path, b_path, tolerance: float = 0.5, as_json: bool = False) -> tuple[int, str]:
    result = compare(a_path, b_path, tolerance)
    if as_json:
        from ..records.io import _clean

        return (0 if result["ok"] else 1), json.dumps(_clean(result), indent=1, default=str)
    body = text(result)
    return (0 if result["ok"] else 1), body
