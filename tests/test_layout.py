"""The layout: one folder per task family under ``sdo_bench/tasks/``, no folder by kind, imports that
never climb from a primitive module into the tasks, the methods or a runner, modules under 350 lines,
every output pattern written once (:mod:`sdo_bench.outputs`), and one record type that the schema,
the runner and the report follow."""

import ast
import json
import re

import pytest
from test_structure import PKG, ROOT, import_graph

from sdo_bench import outputs, record

#: modules every other builds on: they may import each other, never a task family, a method or a runner
PRIMITIVES = {
    "measure", "sampling", "flow_sampling", "tensor_memory", "records", "record", "values", "priors",
    "weights", "provenance", "settings", "outputs", "progress", "variant",
}  # fmt: skip
RUNNERS = {"experiment", "sweep", "gradcheck", "cost", "regress", "workflow", "workflow_check", "cli"}


def _top(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_no_folders_by_kind():
    for gone in ("worlds", "models", "data"):
        assert not (PKG / gone).exists(), gone
    families = sorted(p.name for p in (PKG / "tasks").iterdir() if (p / "__init__.py").is_file())
    assert families == ["digits", "flux", "gmm", "sd3", "sdxl", "stable_diffusion"]


def test_no_import_climbs_from_a_primitive_or_a_family():
    graph = import_graph()
    for module, edges in graph.items():
        top = _top(module)
        if top in PRIMITIVES or module.startswith("sdo_bench.rewards"):
            bad = {e for e in edges if _top(e) in {"tasks", "methods", "report", *RUNNERS}}
            if top == "variant":  # Variant.build reaches the method registry (lazily, by design)
                bad -= {"sdo_bench.methods.registry"}
            assert not bad, f"{module} imports {sorted(bad)}"
        if module.startswith("sdo_bench.tasks."):
            bad = {e for e in edges if _top(e) in {"methods", "report", *RUNNERS}}
            assert not bad, f"{module} imports {sorted(bad)}"
            # a family (its package __init__ too) imports no other family; the shared modules beside the
            # families (Task, the registry, the latent-diffusion builder, the text encoders) are primitives
            family = module.split(".")[2] if module.count(".") >= 2 else None
            shared = ("base", "registry", "latent_world", "text_encoders")
            if family not in (None, *shared):
                others = {e for e in edges if e.startswith("sdo_bench.tasks.") and e.split(".")[2] not in
                          (family, *shared)}  # fmt: skip
                assert not others, f"{module} imports {sorted(others)}"


def test_no_module_over_350_lines():
    long = {
        str(p.relative_to(ROOT)): n for p in PKG.rglob("*.py") if (n := len(p.read_text().splitlines())) > 350
    }
    assert not long, long


def _patterns() -> list[str]:
    """Every path pattern :mod:`sdo_bench.outputs` owns (strings with a folder in them)."""
    found = []
    for name, value in vars(outputs).items():
        if name.startswith("_"):
            continue
        values = value if isinstance(value, tuple) else [value]
        if isinstance(value, dict):
            values = [v for item in value.values() for v in (item if isinstance(item, tuple) else [item])]
        for v in values:
            if isinstance(v, dict):
                found += [x for x in v.values() if "/" in x]
            elif isinstance(v, str) and "/" in v:
                found.append(v)
    return found


def test_every_output_pattern_is_written_once():
    """Each pattern stands in :mod:`sdo_bench.outputs` alone: the library and the rules use its name."""
    patterns = _patterns()
    assert "results/raw/{task}/{variant}/seed{seed}.json" in patterns and len(patterns) >= 12
    sources = [*PKG.rglob("*.py"), *(ROOT / "workflow").rglob("*.smk"), ROOT / "workflow" / "Snakefile"]
    texts = {p: p.read_text() for p in sources}
    for pattern in patterns:
        stem = re.split(r"[{]", pattern)[0].rstrip("/")  # the fixed part: "results/raw", ...
        where = [str(p.relative_to(ROOT)) for p, t in texts.items() if stem in t]
        assert set(where) <= {"sdo_bench/outputs.py"}, (pattern, where)
        root = "/".join(stem.split("/")[:2])  # "results/benchmarks": where every benchmark file lives
        assert root in texts[PKG / "outputs.py"], pattern
    # and the rules take their outputs from it
    rules = "".join(texts[p] for p in texts if p.suffix == ".smk")
    for name in ("RUN_RECORD", "RUN_SAMPLES", "SWEEP_RECORD", "COST_ROWS", "BENCHMARK_RUN", "TINY_SD"):
        assert f"OUT.{name}" in rules, name


def test_the_stem_check_catches_a_second_copy(tmp_path):
    text = 'out = f"results/raw/{t}/{v}/seed{s}.json"'
    assert re.split(r"[{]", outputs.RUN_RECORD)[0].rstrip("/") in text


def test_the_committed_record_schema_is_the_record_types():
    committed = json.loads((PKG / "schemas" / "record.schema.json").read_text())
    assert committed == record.schema()
    assert list(committed["properties"]) == record.field_names()


def test_a_run_writes_exactly_the_record_types_fields(tmp_path):
    from sdo_bench import experiment, records, tasks
    from sdo_bench.variant import Variant

    rec = experiment.run(
        tasks.build("gmm-latent", steps=4, iterations=1), Variant("sdo"), out=tmp_path / "r.json"
    )
    written = json.loads((tmp_path / "r.json").read_text())
    assert list(written) == list(rec) == record.field_names()
    records.validate(written)
    with pytest.raises(TypeError):
        record.Record(task="x", nonsense=1)


def test_the_report_reads_only_record_fields():
    """Every key ``report/load.py`` reads from a record (``rec.get("k")``, ``rec["k"]``) is a field."""
    tree = ast.parse((PKG / "report" / "load.py").read_text())
    keys = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "get":
            target = node.func.value
            if isinstance(target, ast.Name) and target.id == "rec" and isinstance(node.args[0], ast.Constant):
                keys.add(node.args[0].value)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "rec":
            keys.add(node.slice.value)
    assert {"task", "variant", "reward_final", "provenance"} <= keys
    assert keys <= set(record.field_names()), keys - set(record.field_names())
