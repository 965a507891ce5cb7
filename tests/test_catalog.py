"""The Snakemake Workflow Catalog's layout, and the files generated from one source: config/README.md
from the config schema, sdo_bench/catalog.json from the registries."""

import json
from pathlib import Path

import yaml

from sdo_bench.pipeline import config_doc, generate

ROOT = Path(__file__).resolve().parent.parent


def test_the_layout_is_the_catalogs():
    assert (ROOT / "workflow" / "Snakefile").is_file() and not (ROOT / "Snakefile").exists()
    for path in ("config/config.yaml", "config/README.md", "workflow/schemas/config.schema.yaml",
                 "workflow/envs/sdo-bench.yaml", ".snakemake-workflow-catalog.yml", "LICENSE"):  # fmt: skip
        assert (ROOT / path).is_file(), path
    catalog = yaml.safe_load((ROOT / ".snakemake-workflow-catalog.yml").read_text())
    assert catalog["usage"]["software-stack-deployment"]["conda"] is True and catalog["usage"]["report"]


def test_config_readme_describes_every_top_level_key():
    schema = yaml.safe_load(config_doc.SCHEMA.read_text())
    text = config_doc.text()
    for key, node in schema["properties"].items():  # every top-level key, with its own description
        assert f"| `{key}` |" in text and " ".join(node["description"].split())[:40] in text


def test_every_generated_file_is_current():
    """The catalog, the record schema, config/README.md and the report's description: each as its
    source makes it (one command rewrites them all)."""
    assert generate.stale() == [], "stale generated files: python -m sdo_bench.pipeline.generate"
    assert len(generate.files()) == 4


def test_the_generator_names_a_stale_file(tmp_path, monkeypatch, capsys):
    from sdo_bench.spec import catalog

    stale = tmp_path / "catalog.json"
    stale.write_text("{}")
    real = generate.files

    def files():
        out = real()
        return {stale if p == catalog.FILE else p: t for p, t in out.items()}

    monkeypatch.setattr(generate, "files", files)
    assert generate.main(["--check"]) == 1 and str(stale) in capsys.readouterr().err
    assert generate.main([]) == 0 and generate.main(["--check"]) == 0
    assert json.loads(stale.read_text()) == json.loads(json.dumps(generate.catalog()))


def test_an_unchecked_plan_is_the_checked_one(tmp_path):
    # what a Snakemake-only environment plans (no torch to ask) equals what the registries plan
    from snakemake.utils import validate

    from sdo_bench.pipeline.plan import Plan

    for name in ("config.yaml", "full.yaml", "ci.yaml"):
        config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
        config.update(yaml.safe_load((ROOT / "config" / name).read_text()))
        validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
        checked, unchecked = Plan(config), Plan.unchecked(config)
        assert unchecked.all_outputs() == checked.all_outputs(), name
        assert unchecked.run_records() == checked.run_records(), name
        assert unchecked.sweep_records() == checked.sweep_records(), name
        assert [unchecked.task_job_args(t) for t in checked.tasks] == [
            checked.task_job_args(t) for t in checked.tasks
        ]


def test_the_report_description_lists_every_method_from_the_registry():
    from sdo_bench.methods import REGISTRY
    from sdo_bench.report import description

    shipped = description.OUT.read_text()
    assert shipped == description.text(), (
        "workflow/report/workflow.rst is stale: python -m sdo_bench.pipeline.generate"
    )
    for name, cls in REGISTRY.items():
        assert f"- ``{name}`` ({cls.kind}): {cls.summary()}" in shipped


def test_every_figure_kind_has_its_caption_and_title():
    from sdo_bench.spec import outputs

    kinds = {*outputs.PER_TASK, *outputs.PER_SWEPT_TASK, *outputs.PER_COST_TASK}
    assert set(outputs.FIGURE_TITLES) == kinds
    for kind in kinds:
        caption = ROOT / "workflow" / "report" / "figures" / f"{kind}.rst"
        assert caption.is_file() and len(caption.read_text().split()) > 20, kind


def test_the_schemas_label_patterns_are_the_librarys():
    """A label becomes a folder name; the workflow's schema and the command line hold one rule."""
    from sdo_bench.spec.settings import TASK_LABEL, VARIANT_LABEL

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    items = lambda key: schema["properties"][key]["items"]["properties"]  # noqa: E731
    assert items("tasks")["label"]["pattern"] == TASK_LABEL.pattern
    assert items("methods")["label"]["pattern"] == VARIANT_LABEL.pattern
