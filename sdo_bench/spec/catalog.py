"""The catalog: what the task and method registries hold, as one torch-free JSON file shipped in the
package (``sdo_bench/catalog.json``). ``sdo-bench list``, the name checks every command makes before it
imports torch, and a workflow parsed where only Snakemake is installed all read it; it is generated from
the registries (``python -m sdo_bench.pipeline.generate``) and a test keeps it equal to them.

Per task: its description, target, own defaults, every option name it accepts (its own and the common
ones) and its workflow files; per method: its summary, kind, options with default and help, and the
targets it can give a gradient to.
"""

from __future__ import annotations

import json
from pathlib import Path

from .settings import COMMON

FILE = Path(__file__).resolve().parents[1] / "catalog.json"


def read() -> dict:
    """``{"tasks": {...}, "methods": {...}}`` as shipped."""
    return json.loads(FILE.read_text())


def _short(v) -> str:
    if isinstance(v, list):
        return f"[{len(v)} items]"
    return repr(v) if isinstance(v, str) else str(v)


def text(data: dict) -> str:
    """``sdo-bench list``: every task with its settings and defaults, every method with its options."""
    lines = ["tasks:"]
    for name, t in data["tasks"].items():
        shown = ", ".join(f"{k}={_short(v)}" for k, v in t["defaults"].items())
        rest = ", ".join(k for k in COMMON if k not in t["defaults"])
        lines.append(f"  {name:24s} {t['description']}")
        lines.append(f"      options (--set KEY=VALUE): {shown}; also {rest}")
    lines.append("methods:")
    for name, m in data["methods"].items():
        lines.append(f"  {name:24s} {m['summary']}")
        lines += [f"      {k} (default {o['default']!r}): {o['help']}" for k, o in m["options"].items()]
    return "\n".join(lines)


def listing(data: dict) -> dict:
    """``sdo-bench list --json``: each task's description, target and own defaults; each method's
    summary, kind and options."""
    return {
        "tasks": {
            n: {"description": t["description"], "target": t["target"], "options": t["defaults"]}
            for n, t in data["tasks"].items()
        },
        "methods": {
            n: {"summary": m["summary"], "kind": m["kind"], "options": m["options"]}
            for n, m in data["methods"].items()
        },
    }


def check_names(data: dict, task: str | None = None, methods=()) -> None:
    """``ValueError`` (as the registries word it) for a task or method name the catalog lacks."""
    if task is not None and task not in data["tasks"]:
        raise ValueError(f"unknown task {task!r}; valid choices: {', '.join(sorted(data['tasks']))}")
    for m in methods:
        if m not in data["methods"]:
            raise ValueError(f"unknown method {m!r}; valid choices: {', '.join(data['methods'])}")
