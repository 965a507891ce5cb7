"""Tables and figures from run records (DESIGN §9): :func:`write` is what ``sdo-bench report`` does."""

from __future__ import annotations

from pathlib import Path


def write(what: str, records: list, sweeps: list, out, reference: str = "bptt") -> str:
    """Write the tables (``what="tables"``) or figures into ``out``; returns a line saying what."""
    from .load import load_records

    for p in [*records, *sweeps]:
        if not Path(p).is_file():
            raise ValueError(f"record {p} does not exist")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    df = load_records(records)
    if what == "tables":
        from .tables import write_tables

        if df.empty:
            raise ValueError("no records given (--records)")
        table = write_tables(df, out, reference)
        return f"wrote {out}/main.{{csv,md,tex,html}} and {out}/claims.{{md,html}} ({len(table)} rows)"
    from .figures import write_all

    write_all(df, load_records(sweeps), out)
    return f"wrote figures to {out}"
