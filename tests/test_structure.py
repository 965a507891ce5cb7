"""The package's structure (issue: one place for each fact): no import cycle among sdo_bench modules, a
thin command line, one definition of a variant's label, and a new method that is one file and one
registry line and then shows up everywhere."""

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sdo_bench
from sdo_bench import methods, tasks
from sdo_bench.compare import regress
from sdo_bench.experiment import runner as experiment
from sdo_bench.experiment.gradcheck import gradcheck
from sdo_bench.methods import Variant

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "sdo_bench"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """Edges module -> sdo_bench module it imports (top level and inside functions alike); ``from
    pkg import name`` points at ``pkg.name`` where that is a module, else at ``pkg``."""
    modules = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        base = name if is_pkg else name.rsplit(".", 1)[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    up = base.split(".")
                    up = up[: len(up) - (node.level - 1)]
                    src = ".".join(up + ([node.module] if node.module else []))
                else:
                    src = node.module or ""
                targets = [f"{src}.{a.name}" if f"{src}.{a.name}" in modules else src for a in node.names]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def find_cycle(graph):
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if state.get(m) == "open":
                return stack[stack.index(m) :] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = "done"
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_no_import_cycle_among_sdo_bench_modules():
    graph = import_graph()
    assert len(graph) > 30 and "sdo_bench.tasks.gmm" in graph["sdo_bench.tasks"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_cli_owns_the_command_line_and_nothing_below_it_sees_argparse():
    """``cli/`` (its commands and their argument tables) calls library functions with plain values: no
    module outside it imports argparse or takes the parsed namespace, and the commands are imported as
    code, not named by strings."""
    cli = (PKG / "cli" / "commands.py").read_text()
    assert "importlib" not in cli and "_call(" not in cli
    for path in PKG.rglob("*.py"):
        if path.relative_to(PKG).parts[0] != "cli":
            text = path.read_text()
            assert "argparse" not in text and "args.command" not in text, path


def test_the_variant_label_is_defined_once_and_nothing_parses_paths_for_it():
    out = subprocess.run(
        ["git", "grep", "-n", r"variant_label\|_label(", "--", "*.py", "*.smk", "workflow/Snakefile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    definitions = [line for line in out.splitlines() if re.search(r"def \w*_label\(", line)]
    assert len(definitions) <= 1, out
    load = (PKG / "report" / "load.py").read_text()
    assert "parent.name" not in load and 'rec.get("variant"' in load
    assert Variant("truncated", {"k": 1}).label == "truncated-k=1"
    assert Variant("sdo", {"step": "last", "keep": 2}).label == "sdo-keep=2-step=last"
    assert Variant("sdo", {"step": "last"}, "mine").label == "mine"


NEW_METHOD = '''
"""``halfway``: a test method — the network call of step N // 2 keeps its graph (``sdo`` with that step)."""
import torch

from sdo_bench.methods import GradientMethod, Option, register


@register
class Halfway(GradientMethod):
    name = "halfway"
    options = {"scale": Option(1.0, "multiplies nothing; an option to show in `list`")}

    def forward(self, task):
        x = task.x_T()
        for k in range(task.steps):
            if k == task.steps // 2:
                eps = task.eps(x, k)
            else:
                with torch.no_grad():
                    eps = task.eps(x, k)
            x = task.sampler.step(k, x, eps)
        return x
'''


@pytest.fixture
def halfway(tmp_path, monkeypatch):
    (tmp_path / "halfway_method.py").write_text(textwrap.dedent(NEW_METHOD))
    monkeypatch.syspath_prepend(str(tmp_path))
    import halfway_method  # noqa: F401  (registers the method)

    yield "halfway"
    methods.REGISTRY.pop("halfway", None)
    sys.modules.pop("halfway_method", None)


def test_a_method_in_its_own_module_runs_everywhere(halfway, tmp_path, capsys):
    from snakemake.utils import validate

    from sdo_bench.cli.commands import main
    from sdo_bench.pipeline.plan import Plan
    from sdo_bench.report import write

    assert halfway in methods.names()
    # sdo-bench list
    assert main(["list"]) == 0 and "halfway" in capsys.readouterr().out
    # the workflow's config validation accepts it, with its options, and names its outputs
    config = {
        "tasks": [{"task": "gmm-weights", "steps": 6}],
        "methods": [{"method": "bptt"}, {"method": "halfway", "options": {"scale": 2}}],
    }
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    plan = Plan(config)
    assert "results/raw/gmm-weights/halfway-scale=2/seed0.json" in plan.run_records()
    assert '{"method":"halfway","options":{"scale":2}}' in plan.task_job_args("gmm-weights")
    with pytest.raises(ValueError, match="methods\\[1\\]"):
        Plan(dict(config, methods=[{"method": "bptt"}, {"method": "halfway", "options": {"nope": 1}}]))
    # experiment.run, and the report's tables
    paths = []
    for v in (Variant("bptt"), Variant("halfway", {"scale": 2})):
        for seed in (0, 1):
            path = tmp_path / f"{v.label}-{seed}.json"
            rec = experiment.run(tasks.build("gmm-weights", steps=6, iterations=2, seed=seed), v, out=path)
            assert rec["status"] == "ok" and rec["variant"] == v.label
            paths.append(path)
    assert rec["nfe_forward"] == 6 and rec["nfe_backward"] == 1 and 0 < rec["grad_cosine_vs_exact"] < 1
    write("tables", paths, [], tmp_path / "tables")
    table = (tmp_path / "tables" / "main.md").read_text()
    assert "| halfway-scale=2 |" in table.replace("  ", " ") or "halfway-scale=2" in table
    assert "halfway-scale=2" in (tmp_path / "tables" / "main.csv").read_text()
    # regress and gradcheck measure it under its label
    assert "halfway" in [v.label for v in regress.default_variants()]
    rows = gradcheck(tasks.build("gmm-weights", steps=6, dtype="float64"))
    assert "halfway" in [r["variant"] for r in rows]


def test_public_api_of_design_5():
    task = sdo_bench.tasks.build("gmm-latent", steps=4, seed=0, dtype="float64")
    res = sdo_bench.methods.build("sdo", step="first").gradient(task)
    assert res.status == "ok" and len(res.grads) == len(task.parameters())
