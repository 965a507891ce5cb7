"""The files the report writes, by name: what the workflow's ``tables`` and ``figures`` rules declare as
outputs and what :mod:`.tables`, :mod:`.cost` and :mod:`.figures` write.

Names only, no pandas or matplotlib: the workflow reads them while it parses, in every job's own
Snakemake on a cluster too (:mod:`sdo_bench.workflow`).
"""

from __future__ import annotations

#: :func:`.tables.write_tables` writes these into its directory
TABLES = {
    "csv": "main.csv",
    "md": "main.md",
    "tex": "main.tex",
    "claims": "claims.md",
    "html": "main.html",
    "claims_html": "claims.html",
}
#: :func:`.cost.write` writes these beside them, where the config has a cost grid
COST_TABLES = {
    "cost_csv": "cost.csv",
    "cost_md": "cost.md",
    "cost_html": "cost.html",
    "oom_md": "oom_map.md",
    "oom_html": "oom_map.html",
}
#: figures/<kind>_<task>.png for every task of the main runs, for every swept task, for every cost task
PER_TASK = ("reward_vs_iter", "reward_vs_time", "samples")
PER_SWEPT_TASK = ("scaling", "fidelity")
PER_COST_TASK = ("cost_memory",)


def figures(tasks, swept_tasks, cost_tasks=(), out="figures") -> list[str]:
    """The figure files :func:`.figures.write_all` and :func:`sdo_bench.report.write` make."""
    return [
        f"{out}/{kind}_{task}.png"
        for kinds, names in ((PER_TASK, tasks), (PER_SWEPT_TASK, swept_tasks), (PER_COST_TASK, cost_tasks))
        for kind in kinds
        for task in names
    ]
