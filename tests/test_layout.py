"""The layout: ``sdo_bench/`` in folders by layer, each importing only the layers below it; one folder
per task family under ``sdo_bench/tasks/``, no folder by kind; every output pattern written once
(:mod:`sdo_bench.spec.outputs`), and one record type that the schema, the runner and the report follow."""

import ast
import json
import re

import pytest
from test_structure import PKG, ROOT, find_cycle, import_graph

from sdo_bench.records import record
from sdo_bench.spec import outputs

#: the layers, lowest first: each folder (or top-level module) and the ones it may import. A lower layer
#: never imports a higher one; nothing imports the command line (docs/design.md §10, CONTRIBUTING.md).
LAYERS = {
    "spec": set(),
    "weights": set(),
    "records": {"spec", "_version"},
    "measure": {"spec"},
    "sampling": {"spec", "measure"},
    "methods": {"spec", "measure"},
    "rewards": {"weights"},
    "tasks": {"spec", "records", "measure", "sampling", "rewards", "weights"},
    "cost": {"spec", "records", "measure", "sampling", "methods", "rewards", "tasks", "weights"},
    "experiment": {"spec", "records", "measure", "sampling", "methods", "tasks", "cost"},
    "report": {"spec", "records", "methods", "cost"},
    "compare": {"spec", "records", "measure", "methods", "tasks", "report"},
    "pipeline": {"spec", "records", "methods", "tasks", "report"},
    "cli": {"spec", "records", "tasks", "cost", "experiment", "report", "compare", "pipeline"},
}
#: what may sit beside the folders: the package's own files and at most four modules
TOP_FILES = {"__init__.py", "__main__.py", "_version.py"}


def _top(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def folder_graph() -> dict[str, set[str]]:
    """Edges top-level folder (or module) -> the others it imports."""
    out: dict[str, set[str]] = {}
    for module, edges in import_graph().items():
        a = _top(module)
        out.setdefault(a, set()).update(_top(e) for e in edges if _top(e) not in (a, ""))
    return out


def test_the_package_is_folders_by_layer():
    modules = sorted(p.name for p in PKG.glob("*.py") if p.name not in TOP_FILES)
    assert len(modules) <= 4, modules
    folders = {p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    assert folders | {m.removesuffix(".py") for m in modules} == set(LAYERS), folders
    # no two siblings anywhere differ only by a plural (record/records, comparison/compare stay apart)
    for where in [PKG, *(p for p in PKG.rglob("*") if p.is_dir())]:
        names = {p.stem for p in where.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()}
        plural = {n for n in names if n + "s" in names}
        assert not plural, (str(where.relative_to(ROOT)), sorted(plural))


def test_each_layer_imports_only_the_layers_below_it():
    for folder, imports in folder_graph().items():
        if folder in ("", "__main__", "_version"):
            continue
        bad = imports - LAYERS[folder]
        assert not bad, f"sdo_bench/{folder} imports {sorted(bad)}"
    assert find_cycle(folder_graph()) is None, find_cycle(folder_graph())


def test_the_layer_rule_catches_a_climb():
    assert "cli" not in LAYERS["pipeline"] and "experiment" not in LAYERS["cost"]
    assert "report" not in LAYERS["cost"] and "methods" not in LAYERS["spec"]
    assert all("cli" not in allowed for allowed in LAYERS.values())


def test_no_folders_by_kind():
    for gone in ("worlds", "models", "data"):
        assert not (PKG / gone).exists(), gone
    families = sorted(p.name for p in (PKG / "tasks").iterdir() if (p / "__init__.py").is_file())
    assert families == ["digits", "flux", "gmm", "sd3", "sdxl", "stable_diffusion"]


def test_no_family_imports_another():
    """A family (its package __init__ too) imports no other family; the shared modules beside the
    families (Task, the registry, the latent-diffusion builder, the text encoders, priors and
    regularizers, the pipeline loader, the offline tokenizers, the fidelity measure) are for all of them."""
    shared = ("base", "registry", "latent_world", "text_encoders", "priors", "regularizers", "pipelines",
              "tokenizers", "fidelity")  # fmt: skip
    for module, edges in import_graph().items():
        if not module.startswith("sdo_bench.tasks.") or module.count(".") < 2:
            continue
        family = module.split(".")[2]
        if family in shared:
            continue
        others = {
            e for e in edges if e.startswith("sdo_bench.tasks.") and e.split(".")[2] not in (family, *shared)
        }
        assert not others, f"{module} imports {sorted(others)}"


def _patterns() -> list[str]:
    """Every path pattern :mod:`sdo_bench.spec.outputs` owns (strings with a folder in them)."""
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
    """Each pattern stands in :mod:`sdo_bench.spec.outputs` alone: the library and the rules use its name."""
    patterns = _patterns()
    assert "results/raw/{task}/{variant}/seed{seed}.json" in patterns and len(patterns) >= 12
    sources = [*PKG.rglob("*.py"), *(ROOT / "workflow").rglob("*.smk"), ROOT / "workflow" / "Snakefile"]
    texts = {p: p.read_text() for p in sources}
    for pattern in patterns:
        stem = re.split(r"[{]", pattern)[0].rstrip("/")  # the fixed part: "results/raw", ...
        if not stem:  # a pattern under a folder the user names ("{log_dir}/...": its longest fixed part)
            stem = max(re.split(r"\{[^}]*\}", pattern), key=len) + "{"
        where = [str(p.relative_to(ROOT)) for p, t in texts.items() if stem in t]
        assert set(where) <= {"sdo_bench/spec/outputs.py"}, (pattern, where)
        root = (
            "/".join(stem.split("/")[:2]) if not pattern.startswith("{") else stem
        )  # "results/benchmarks": where every benchmark file lives
        assert root in texts[PKG / "spec" / "outputs.py"], pattern
    # and the rules take their outputs from it
    rules = "".join(texts[p] for p in texts if p.suffix == ".smk")
    for name in ("RUN_RECORD", "RUN_SAMPLES", "SWEEP_RECORD", "COST_ROWS", "BENCHMARK_RUN", "TINY_SD"):
        assert f"OUT.{name}" in rules, name


def test_the_stem_check_catches_a_second_copy(tmp_path):
    text = 'out = f"results/raw/{t}/{v}/seed{s}.json"'
    assert re.split(r"[{]", outputs.RUN_RECORD)[0].rstrip("/") in text


def test_the_committed_record_schema_lists_the_record_types_fields():
    committed = json.loads((PKG / "schemas" / "record.schema.json").read_text())
    assert list(committed["properties"]) == record.field_names()


def test_a_run_writes_exactly_the_record_types_fields(tmp_path):
    from sdo_bench import tasks
    from sdo_bench.experiment import runner as experiment
    from sdo_bench.records import io as records
    from sdo_bench.spec.variant import Variant

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
