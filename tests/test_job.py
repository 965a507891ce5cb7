"""One job description (:class:`sdo_bench.spec.job.RunJob`): built by the workflow's plan, given to a
job as ``sdo-bench run --spec``, checked once per process, kept in every record's provenance; its shape
errors name the field."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sdo_bench.spec.job import RunJob
from sdo_bench.spec.variant import Variant


def _job(tmp_path, **kw):
    variants = kw.pop("variants", (Variant("bptt"), Variant("sdo", {"step": "first"})))
    seeds = kw.pop("seeds", (0, 1))
    outs = tuple(str(tmp_path / f"{v.label}-{s}.json") for v in variants for s in seeds)
    return RunJob(task="gmm-latent", variants=variants, seeds=seeds, outs=outs,
                  settings={"steps": 4, "iterations": 2, "batch": 4}, **kw)  # fmt: skip


def test_a_job_checks_its_spec_once(tmp_path, monkeypatch):
    """Two variants, two seeds: the settings rule runs once, each method's check once per variant (the
    exact bptt gradient every run compares with is the bptt variant's own check), not per seed or per
    gradient (each run takes about ten gradients)."""
    from sdo_bench.experiment import run_job
    from sdo_bench.methods import REGISTRY, base
    from sdo_bench.spec import settings

    calls = {"settings": 0, "method": []}
    real = settings.check

    def count_settings(*a, **k):
        calls["settings"] += 1
        return real(*a, **k)

    def counted(cls, check):
        def wrapper(self, task):
            calls["method"].append(cls.name)
            return check(self, task)

        return wrapper

    monkeypatch.setattr(settings, "check", count_settings)
    monkeypatch.setattr(base, "_CHECKED", set())
    for cls in REGISTRY.values():
        monkeypatch.setattr(cls, "check", counted(cls, cls.check))
    recs = run_job(_job(tmp_path))
    assert [r["status"] for r in recs] == ["ok"] * 4
    assert calls["settings"] == 1
    assert sorted(calls["method"]) == ["bptt", "sdo"]


def test_a_job_runs_seed_by_seed_and_returns_the_jobs_order(tmp_path, monkeypatch):
    """The variants of one seed run back to back (the runs a time ratio pairs share the machine's
    state: the seeds are the time intervals' blocks); records come back variant by variant, each at
    the output the spec gives it, and each record's compute time summary takes its fastest iteration
    of equal work from the per-iteration times it keeps."""
    from sdo_bench.experiment import run_job, runner

    order, real = [], runner.run
    monkeypatch.setattr(
        runner, "run", lambda task, variant, **k: order.append(variant.label) or real(task, variant, **k)
    )
    job = _job(tmp_path)
    b, s = (v.label for v in job.variants)
    recs = run_job(job)
    assert order == [b, s, b, s]
    assert [(r["variant"], r["seed"]) for r in recs] == [(b, 0), (b, 1), (s, 0), (s, 1)]
    for r, out in zip(recs, job.outs):
        on_disk = json.loads(Path(out).read_text())
        assert (on_disk["variant"], on_disk["seed"]) == (r["variant"], r["seed"])
        times = on_disk["compute_s"]
        assert len(times) == on_disk["iterations"] and on_disk["compute_time_per_iter_s"]["fastest"] == min(
            times
        )


def test_the_fastest_of_equal_work_takes_each_draw_at_its_own_fastest():
    from sdo_bench.experiment.runner import fastest_of_equal_work

    assert fastest_of_equal_work([3.0, 1.0, 2.0], [(4, 1)] * 3) == 1.0  # the same work: the fastest
    # work drawn at random: (2, 1) at its fastest 1.0, (6, 1) at 2.5 (twice), never at 1.0
    assert (
        fastest_of_equal_work([1.5, 1.0, 2.5, 3.0], [(2, 1), (2, 1), (6, 1), (6, 1)])
        == (1 + 1 + 2.5 + 2.5) / 4
    )


def test_the_job_is_in_every_records_provenance_and_round_trips(tmp_path):
    from sdo_bench.experiment import run_job

    job = _job(tmp_path, variants=(Variant("sdo"),), seeds=(3,))
    (rec,) = run_job(job)
    assert rec["provenance"]["job"] == job.to_dict()
    assert RunJob.from_json(job.to_json()) == job
    assert json.loads((tmp_path / "sdo-3.json").read_text())["provenance"]["job"]["seeds"] == [3]


@pytest.mark.parametrize(
    "change,field",
    [
        ({"seeds": []}, "seeds"),
        ({"seeds": [0, 0]}, "seed twice"),
        ({"seeds": [-1]}, "seed must be >= 0"),
        ({"outs": ["a.json"]}, "one output per variant and seed"),
        ({"variants": [{"method": "sdo"}, {"method": "sdo"}]}, "name a variant twice"),
        ({"variants": [{"nope": 1}]}, "variants[0]"),
        ({"settings": {"seed": 1}}, "give the seed once"),
        ({"settings": [1]}, "settings"),
        ({"memory_budget_bytes": 0}, "memory_budget_bytes must be >= 1"),
        ({"fidelity": "yes"}, "fidelity"),
        ({"extra": 1}, "unknown key(s) extra"),
    ],
)
def test_a_bad_spec_names_its_field(tmp_path, change, field):
    d = _job(tmp_path).to_dict()
    d.update(change)
    if "outs" not in change and "variants" in change:
        d["outs"] = d["outs"][: len(change["variants"]) * len(d["seeds"])]
    with pytest.raises(ValueError, match=re.escape(field)):
        RunJob.from_dict(d)


def test_run_spec_on_the_command_line(tmp_path):
    """``sdo-bench run --spec @FILE`` runs the job; --spec beside the job's flags is one line, exit 2."""
    job = _job(tmp_path, variants=(Variant("sdo"),), seeds=(0,))
    spec = tmp_path / "job.json"
    spec.write_text(job.to_json())
    cli = [sys.executable, "-m", "sdo_bench", "run"]
    ok = subprocess.run([*cli, "--spec", f"@{spec}"], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert json.loads((tmp_path / "sdo-0.json").read_text())["status"] == "ok"
    both = subprocess.run(
        [*cli, "--spec", f"@{spec}", "--task", "gmm-latent"], capture_output=True, text=True
    )
    assert both.returncode == 2 and "give the job once" in both.stderr and "Traceback" not in both.stderr
    assert len(both.stderr.strip().splitlines()) == 1


def test_the_plan_gives_each_run_job_its_spec():
    """The runs rule's job: the plan's spec names exactly the outputs the rule declares."""
    from snakemake.utils import validate
    from test_structure import ROOT

    from sdo_bench.pipeline.plan import Plan
    from sdo_bench.spec import outputs as out

    config = {
        "tasks": [{"task": "gmm-weights", "steps": 6}],
        "methods": [{"method": "bptt"}, {"method": "sdo"}],
        "seeds": [0, 1, 2],
    }
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    plan = Plan(config)
    job = plan.run_spec("gmm-weights")
    assert list(job.outs) == plan.task_outputs("gmm-weights", out.RUN_RECORD)
    assert list(job.samples_outs) == plan.task_outputs("gmm-weights", out.RUN_SAMPLES)
    assert [v.label for v in job.variants] == ["bptt", "sdo"] and job.seeds == (0, 1, 2)
    assert job.settings["steps"] == 6 and RunJob.from_json(job.to_json()) == job
