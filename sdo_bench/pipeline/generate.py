"""Every committed file generated from one source, rewritten by one command::

    python -m sdo_bench.pipeline.generate           # rewrite the stale ones
    python -m sdo_bench.pipeline.generate --check   # exit 1 naming the stale ones

- ``sdo_bench/catalog.json``: the task and method registries (:mod:`sdo_bench.spec.catalog`);
- ``sdo_bench/schemas/record.schema.json``: the record type (:mod:`sdo_bench.records.record`);
- ``config/README.md``: the config schema (:mod:`.config_doc`);
- ``workflow/report/workflow.rst``: the report's description (:mod:`sdo_bench.report.description`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path


def _plain(v):
    """A value as JSON holds it (tuples as lists, anything else exotic as its string)."""
    return json.loads(json.dumps(v, default=str))


def catalog() -> dict:
    """The catalog's content, from the registries (imports torch)."""
    from .. import tasks as _tasks
    from ..methods import REGISTRY
    from ..spec.settings import TARGETS

    tasks = {}
    for name in _tasks.names():
        s = _tasks.spec(name)
        tasks[name] = {
            "description": s.description,
            "target": s.target,
            "defaults": _plain(s.defaults),
            "options": sorted(s.option_names()),
            "workflow": asdict(s.workflow) if s.workflow else None,
        }
    methods = {
        name: {
            "summary": cls.summary(),
            "kind": cls.kind,
            "options": {k: {"default": _plain(o.default), "help": o.help} for k, o in cls.options.items()},
            "applies": [t for t in TARGETS if cls().applies_to(t)],
        }
        for name, cls in REGISTRY.items()
    }
    return {"tasks": tasks, "methods": methods}


def files() -> dict[Path, str]:
    """Each generated file and the text it must hold."""
    from ..records import record
    from ..records.io import SCHEMA_FILE
    from ..report import description
    from ..spec import catalog as _catalog
    from . import config_doc

    return {
        _catalog.FILE: json.dumps(catalog(), indent=1) + "\n",
        SCHEMA_FILE: json.dumps(record.schema(), indent=1) + "\n",
        config_doc.OUT: config_doc.text(),
        description.OUT: description.text(),
    }


def stale() -> list[Path]:
    """The generated files whose committed text is not what their source makes."""
    return [p for p, text in files().items() if not p.is_file() or p.read_text() != text]


def main(argv: list[str]) -> int:
    old = stale()
    if "--check" in argv:
        for p in old:
            print(f"{p} is stale: python -m sdo_bench.pipeline.generate", file=sys.stderr)
        return 1 if old else 0
    wanted = files()
    for p in old:
        p.write_text(wanted[p])
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
