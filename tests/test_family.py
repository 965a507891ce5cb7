"""A new task family is one folder and one import line: defined here in a temporary package, it shows
up in `sdo-bench list`, the workflow's config check and outputs (with the files it declares for a rule
to build), `experiment.run`, the report's tables, `regress` and the cost model, with no other change."""

import sys
import textwrap

import pytest

from sdo_bench import tasks

FAMILY = '''
"""``toy``: a linear denoiser ε = x W on R^dim and the reward -|x_N - 1|^2 (a test family)."""
import torch
from torch import nn

from sdo_bench.measure import CountingNetwork
from sdo_bench.sampling import DDIMSampler, real_tensors
from sdo_bench.tasks import Task, WorkflowFiles, register, seeded_normal


class Linear(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.weight = nn.Parameter(0.5 * torch.eye(dim))

    def forward(self, x, t, cond=None):
        return x @ self.weight


class Near(nn.Module):
    def forward(self, x):
        return -((x.flatten(1) - 1.0) ** 2).sum(1)


def scheduler():
    from diffusers import DDIMScheduler

    with real_tensors():
        return DDIMScheduler(num_train_timesteps=100, beta_schedule="linear", clip_sample=False)


@register(
    "toy-weights",
    "a linear denoiser, optimize its weight",
    workflow=WorkflowFiles(inputs={"data_dir": ("toy.json",)}, defaults={"data_dir": "results/models/toy"}),
    steps=4, batch=3, iterations=2, lr=0.01, dim=3, data_dir=None,
)
def toy_weights(name, *, steps, batch, iterations, seed, dtype, device, lr, optimizer, dim, data_dir):
    model = Linear(dim).to(dtype=dtype, device=device)
    return Task(
        name=name, model_name="toy", reward_name="near-one", target="weights",
        network=CountingNetwork(model), sampler=DDIMSampler(scheduler(), steps), reward_fn=Near(),
        params=[model.weight], noise=seeded_normal((batch, dim), seed, dtype, device), seed=seed,
        batch=batch, iterations=iterations, optimizer=optimizer, lr=lr, dtype=dtype, device=device,
        to_images=lambda x: x[:, :, None, None],
    )
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    pkg = tmp_path / "toy_family"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(FAMILY))
    monkeypatch.syspath_prepend(str(tmp_path))
    import toy_family  # noqa: F401  (the one import line: registers the family's tasks)

    yield "toy-weights"
    tasks.unregister("toy-weights")
    sys.modules.pop("toy_family", None)


def test_a_family_in_its_own_folder_runs_everywhere(toy, tmp_path, capsys):
    from snakemake.utils import validate
    from test_structure import ROOT

    from sdo_bench.cli.commands import main
    from sdo_bench.compare import regress
    from sdo_bench.cost import predict as cost
    from sdo_bench.experiment import runner as experiment
    from sdo_bench.pipeline.plan import Plan
    from sdo_bench.report import write
    from sdo_bench.spec.variant import Variant

    assert main(["list"]) == 0 and "toy-weights" in capsys.readouterr().out
    # the workflow: config check, the file its declaration asks a rule for, outputs and job arguments
    config = {
        "tasks": [{"task": toy, "options": {"dim": 2}}],
        "methods": [{"method": "bptt"}, {"method": "sdo"}],
    }
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    plan = Plan(config)
    assert plan.inputs(toy) == ["results/models/toy/toy.json"]
    assert "results/raw/toy-weights/sdo/seed0.json" in plan.run_records()
    args = plan.task_job_args(toy)
    assert "--set dim=2" in args and "--set data_dir=results/models/toy" in args
    assert plan.family_outputs() == []
    with pytest.raises(ValueError, match=r"tasks\[0\].options.dimm"):
        Plan(dict(config, tasks=[{"task": toy, "options": {"dimm": 2}}]))
    # experiment.run and the report's tables
    paths = []
    for v in (Variant("bptt"), Variant("sdo")):
        for seed in (0, 1):
            rec = experiment.run(tasks.build(toy, seed=seed), v, out=tmp_path / f"{v.label}{seed}.json")
            assert rec["status"] == "ok" and rec["model"] == "toy" and rec["nfe_forward"] == 4
            paths.append(tmp_path / f"{v.label}{seed}.json")
    write("tables", paths, [], tmp_path / "tables")
    assert "toy-weights" in (tmp_path / "tables" / "main.csv").read_text()
    # regress measures it, and the cost model predicts it on fake tensors
    measured = regress.measure_case(toy, 4, {}, 2, [Variant("bptt"), Variant("sdo")])
    assert measured["bptt"]["status"] == "ok" and measured["sdo"]["nfe_backward"] == 1
    row = cost.predict(toy, Variant("bptt"), 4, dtype="float32")
    assert row["status"] == "ok" and row["nfe_forward"] == 4 and row["peak_tensor_bytes"] > 0
    assert row["peak_tensor_bytes"] == measured["bptt"]["peak_tensor_bytes"]
