"""Tables and figures from run records (docs/design.md §9): :func:`write` is ``sdo-bench report``."""

from __future__ import annotations

from pathlib import Path


def write(
    what: str,
    records: list,
    sweeps: list,
    out,
    reference: str = "bptt",
    costs: list = (),
    benchmarks=(),
    reward_margin: float = 0.1,
    checks: list = (),
    verdict=None,
) -> str:
    """Write the tables (``what="tables"``: main, claims and, with ``costs``, the cost model's tables;
    with ``checks``, ``sdo-bench cost --check`` rows, the cost check's table),
    the figures, the time per rule family (``"benchmarks"``: Snakemake's ``benchmarks`` files) or the
    README's figures (``"docs"``) into ``out``; returns a line saying what. ``verdict``: with the tables,
    also write the verdict (:mod:`.verdict`) to this file; with ``docs``, the verdict to copy into docs/
    and README.md's verdict block."""
    from ..records.io import check_dir

    check_dir(out, "--out")
    if what == "docs":  # verdict: the default run's, copied into docs/ and the README
        from .docs import refresh

        if verdict is not None and not Path(verdict).is_file():
            raise ValueError(f"--verdict {verdict} does not exist; run the default workflow first")
        return refresh(out, records, verdict, "README.md" if verdict is not None else None)
    if verdict is not None:
        from ..records.io import check_outputs

        if Path(verdict).suffix != ".md":
            raise ValueError(f"--verdict {verdict}: give a Markdown file (.md); its HTML copy goes beside it")
        check_outputs([("--verdict", verdict), ("--verdict", Path(verdict).with_suffix(".html"))])
        from ..spec.outputs import CHECK_TABLES, COST_TABLES, TABLES

        names = {*TABLES.values(), *COST_TABLES.values(), *CHECK_TABLES.values()}
        if Path(verdict).resolve().parent == Path(out).resolve() and Path(verdict).name in names:
            raise ValueError(f"--verdict {verdict} is a table's own file in --out {out}; give another name")
    if not (isinstance(reward_margin, (int, float)) and 0 <= reward_margin < float("inf")):
        raise ValueError(f"--reward-margin must be a finite number >= 0, got {reward_margin!r}")
    for p in benchmarks:
        if not Path(p).is_file():
            raise ValueError(f"benchmark file {p} does not exist")
    if what == "benchmarks":
        from .benchmarks import write as write_benchmarks

        return write_benchmarks(benchmarks, out)
    from ..records.io import read_json, read_record
    from . import cost
    from .load import load_records

    for group in (records, sweeps):  # every record there, of the record type and once, before any writing
        seen = {}
        for p in group:
            r = read_record(p)
            key = (r.get("task_label") or r["task"], r["variant"], r["seed"], r["steps"])
            if key in seen:
                raise ValueError(
                    f"records {seen[key]} and {p} are the same run ({key[0]} {key[1]} seed {key[2]} "
                    f"N={key[3]}); give each run once"
                )
            seen[key] = p
    for p in costs:
        rows = read_json(p, "cost file")
        if (
            not isinstance(rows, dict)
            or not isinstance(rows.get("rows"), list)
            or not all(isinstance(r, dict) for r in rows["rows"])
        ):
            raise ValueError(f"cost file {p} has no rows (write it with `sdo-bench cost --out`)")
    for p in checks:
        rows = read_json(p, "cost check file")
        if (
            not isinstance(rows, dict)
            or not isinstance(rows.get("rows"), list)
            or not rows["rows"]
            or any(not isinstance(r, dict) or "checked_on" not in r for r in rows["rows"])
        ):
            raise ValueError(
                f"cost check file {p} has no checked rows (write it with `sdo-bench cost --check --out`)"
            )
    df, cost_rows, check_rows = load_records(records), cost.load_rows(costs), cost.load_rows(checks)
    if what == "tables" and df.empty:
        raise ValueError("no records given (--records)")
    if what == "tables" and reference not in set(df.variant):
        raise ValueError(f"--reference {reference!r} is not a variant of the records; valid choices: "
                         + ", ".join(dict.fromkeys(df.variant)))  # fmt: skip
    from ..records.io import staged

    out = Path(out)
    if what == "tables":
        from .tables import write_tables

        with staged(out) as tmp:  # the tables as a set: all of them, or none changed
            table = write_tables(df, tmp, reference, cost_rows, reward_margin)
            if not cost_rows.empty:
                cost.write(cost_rows, tmp, check_rows)
            if checks:
                from .cost_check import write as write_checks

                write_checks(check_rows, tmp)
        if verdict is not None:
            from ..records.io import write_text_atomic
            from .tables import distinct_commits
            from .verdict import verdict as verdict_text

            text = verdict_text(df, cost_rows, reference, margin=reward_margin, commit=distinct_commits(df))
            write_text_atomic(verdict, text)
            from .html import markdown_to_html

            page = Path(verdict).with_suffix(".html")
            write_text_atomic(page, markdown_to_html(text, "sdo-bench verdict"))
        return (f"wrote the tables ({len(table)} rows, {len(cost_rows)} predicted cost rows, "
                f"{len(check_rows)} checked) to {out}")  # fmt: skip
    from ..spec.outputs import PER_COST_TASK, figure_name
    from .figures import write_all

    sweep_df = load_records(sweeps)
    with staged(out) as tmp:
        write_all(df, sweep_df, tmp, cost_rows)
        for task in dict.fromkeys(cost_rows.task) if not cost_rows.empty else []:
            cost.figure(cost_rows, task, tmp / figure_name(PER_COST_TASK[0], task))
    return f"wrote figures to {out}"
