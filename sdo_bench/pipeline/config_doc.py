"""``config/README.md``, written from the workflow's config schema (``workflow/schemas/
config.schema.yaml``: a description on every field), so that the two cannot disagree: ``python -m
sdo_bench.pipeline.config_doc`` rewrites it, and a test checks that the committed file is what it writes.

The Snakemake Workflow Catalog shows ``config/README.md`` as a workflow's configuration page."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
OUT = ROOT / "config" / "README.md"

HEAD = """# Configuration

<!-- written by `python -m sdo_bench.pipeline.generate` from workflow/schemas/config.schema.yaml -->

`snakemake --cores all` runs `config/config.yaml`, the embedded default (CPU, offline, about 10 minutes
on 2 cores). The other files here are whole configurations beside it, chosen with `--configfile`:

| file | what it runs |
|---|---|
| `config.yaml` | the embedded default: GMM and digits tasks, 3 seeds, sweeps to N = 20, SD1.5 at N = 50 |
| `full.yaml` | the complete study: 5 seeds, every variant on every task, 256-sample FID, sweeps to N = 200 |
| `ci.yaml` | the smallest run that still makes every table and figure (`--workflow-profile profiles/ci`) |
| `tiny-sd.yaml` | the Stable Diffusion code path on the CPU (random tiny weights, built offline) |
| `paper.yaml` | SD1.5 with HPSv2 and the aesthetic reward on GPUs, from weights on disk (edit 4 paths) |

Snakemake merges a `--configfile` into `config.yaml` key by key, so each file sets every key; lists
(`tasks`, `methods`, `seeds`) are replaced whole. The config is validated against the schema when the
workflow starts, then every name and value against the library (`sdo-bench list` shows the tasks and
methods with their options): a mistake stops the workflow before any job, naming the key.

Config holds experiment facts only; where jobs run and with what resources is a profile's
(`profiles/default`, `profiles/ci`, `profiles/slurm`).

## Every key
"""


def _type(node: dict) -> str:
    t = node.get("type")
    if isinstance(t, list):
        t = " or ".join(t)
    if "enum" in node:
        t = " | ".join(json.dumps(v) for v in node["enum"])
    return t or "any"


def _rows(node: dict, prefix: str = "") -> list[tuple[str, str, str, str]]:
    rows = []
    for key, child in (node.get("properties") or {}).items():
        path = f"{prefix}{key}"
        default = json.dumps(child["default"]) if "default" in child else ""
        text = " ".join(str(child.get("description", "")).split())
        rows.append((path, _type(child), default, text))
        rows += _rows(child, path + ".")
        items = child.get("items")
        if isinstance(items, dict) and items.get("properties"):
            rows += _rows(items, path + "[]" + ".")
    return rows


def text(schema_path: Path = SCHEMA) -> str:
    import yaml

    schema = yaml.safe_load(schema_path.read_text())
    lines = [HEAD, "| key | type | default | description |", "|---|---|---|---|"]
    for path, typ, default, desc in _rows(schema):
        cell = lambda s: s.replace("|", "\\\\|")  # noqa: E731
        lines.append(f"| `{path}` | {cell(typ)} | {f'`{cell(default)}`' if default else ''} | {cell(desc)} |")
    return "\n".join(lines) + "\n"
