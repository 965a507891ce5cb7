"""The run harness and the command line (issue: run harness)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import sdo_bench
from sdo_bench.experiment import runner as experiment
from sdo_bench.measure.counters import PeakMemory
from sdo_bench.methods import Variant
from sdo_bench.methods import build as build_method
from sdo_bench.records import io as records
from sdo_bench.tasks import build

CLI = [sys.executable, "-m", "sdo_bench.cli"]


def cli(*args, cwd=None):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def cli_inprocess(capsys, *args):
    """The same command line, in this process (fast); returns (exit code, stdout, stderr)."""
    from sdo_bench.cli.commands import main

    try:
        code = main(list(args))
    except SystemExit as e:
        code = e.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_record_holds_every_field_and_validates(tmp_path):
    out = tmp_path / "rec.json"
    p = cli(
        "run",
        "--task",
        "gmm-weights",
        "--method",
        "sdo",
        "--option",
        "step=last",
        "--seed",
        "1",
        "--steps",
        "10",
        "--iterations",
        "5",
        "--out",
        str(out),
    )
    assert p.returncode == 0, p.stderr
    rec = json.loads(out.read_text())
    records.validate(rec)
    required = set(records.committed_schema()["required"])
    assert required <= set(rec)
    assert rec["status"] == "ok" and rec["iterations"] == 5 and len(rec["reward_curve"]) == 6
    assert rec["method_options"] == {"step": "last", "keep": 1}
    assert rec["nfe_forward"] == 10 and rec["nfe_backward"] == 1
    assert rec["peak_memory_source"] in ("rss_hwm", "rss_sampled")
    assert rec["provenance"]["config_hash"] and rec["provenance"]["versions"]["torch"]
    assert 0 < rec["grad_cosine_vs_exact"] <= 1
    assert [p.name for p in tmp_path.iterdir()] == ["rec.json"]  # no temp files left


def test_record_schema_rejects_missing_field():
    rec = experiment.run(build("gmm-latent", steps=5, iterations=2), Variant("bptt"))
    records.validate(rec)
    del rec["graph_bytes"]
    with pytest.raises(Exception, match="graph_bytes"):
        records.validate(rec)


def test_cpu_peak_memory_sees_a_known_allocation():
    size = 256 * 2**20
    with PeakMemory("cpu") as base:
        pass
    with PeakMemory("cpu") as peak:
        x = torch.ones(size // 4, dtype=torch.float32)
        del x
    assert peak.source in ("rss_hwm", "rss_sampled")
    # the kernel batches RSS counter updates (up to 64 pages per thread), hence the 1 MiB slack
    assert peak.delta_bytes >= size - 2**20, (peak.delta_bytes, size)
    assert peak.peak_bytes >= base.start_bytes + size - 2**20
    with PeakMemory("cpu") as twice:
        y = torch.ones(size // 2, dtype=torch.float32)
        del y
    assert twice.delta_bytes >= 2 * size - 2**20


def test_same_run_twice_gives_identical_curves():
    a = experiment.run(
        build("gmm-weights", seed=3, steps=10, iterations=6), Variant("truncated", {"k": "random"})
    )
    b = experiment.run(
        build("gmm-weights", seed=3, steps=10, iterations=6), Variant("truncated", {"k": "random"})
    )
    assert a["reward_curve"] == b["reward_curve"] and a["gradient_info"] == b["gradient_info"]
    c = experiment.run(
        build("gmm-weights", seed=4, steps=10, iterations=6), Variant("truncated", {"k": "random"})
    )
    assert c["reward_curve"] != a["reward_curve"]


def test_fidelity_of_exact_methods_is_one():
    rec = experiment.run(build("gmm-latent", steps=10, iterations=1, dtype="float64"), Variant("checkpoint"))
    assert rec["grad_cosine_vs_exact"] == pytest.approx(1.0, abs=1e-12)
    assert rec["grad_relnorm_vs_exact"] == pytest.approx(1.0, abs=1e-9)


def test_not_applicable_is_recorded(tmp_path):
    out = tmp_path / "r.json"
    p = cli(
        "run",
        "--task",
        "gmm-latent",
        "--method",
        "truncated",
        "--option",
        "k=1",
        "--seed",
        "0",
        "--out",
        str(out),
    )
    assert p.returncode == 0
    rec = json.loads(out.read_text())
    records.validate(rec)
    assert rec["status"] == "not_applicable" and "x_T" in rec["error"] and rec["iterations"] == 0


def test_memory_budget_marks_oom_and_exits_zero(tmp_path):
    out = tmp_path / "r.json"
    p = cli(
        "run",
        "--task",
        "gmm-latent",
        "--method",
        "bptt",
        "--seed",
        "0",
        "--steps",
        "20",
        "--memory-budget-bytes",
        "10000",
        "--out",
        str(out),
    )
    assert p.returncode == 0, p.stderr
    rec = json.loads(out.read_text())
    records.validate(rec)
    # far over the budget: predicted on fake tensors before any work, no measured figure made up
    assert (
        rec["status"] == "oom"
        and "predicted graph bytes" in rec["error"]
        and "memory_budget_bytes" in rec["error"]
    )
    assert rec["graph_bytes"] is None and rec["reward_init"] is None
    # just over it (within the prediction's margin): the first real gradient's graph bytes decide
    from sdo_bench import tasks
    from sdo_bench.spec.variant import Variant

    task = tasks.build("gmm-latent", steps=20)
    exact = build_method(Variant("bptt")).gradient(task, measure_graph=True).graph_bytes
    budget = int(exact / 1.03)
    rec = experiment.run(tasks.build("gmm-latent", steps=20), Variant("bptt"), memory_budget_bytes=budget)
    assert rec["status"] == "oom" and rec["graph_bytes"] == exact and rec["reward_init"] is not None
    # sdo fits the same budget; its fidelity note says the exact gradient would not
    rec = experiment.run(
        build("gmm-latent", steps=20, iterations=2), Variant("sdo"), memory_budget_bytes=10000
    )
    assert rec["status"] == "ok" and rec["grad_cosine_vs_exact"] is None
    assert "memory_budget_bytes" in rec["fidelity_note"]


def test_diverged_run_is_recorded(tmp_path):
    task = build("gmm-weights", steps=5, iterations=3)
    task.reward_fn = lambda x: x.sum(-1) * float("nan")
    rec = experiment.run(task, Variant("bptt"), out=tmp_path / "r.json")
    assert rec["status"] == "diverged"
    records.validate(records.read_json(tmp_path / "r.json"))


def _readonly_dir(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o555)
    if os.access(d, os.W_OK) and os.geteuid() == 0:  # root ignores the mode; sysfs refuses new files
        return Path("/sys")
    return d


@pytest.mark.parametrize(
    "case",
    [
        "task",
        "method",
        "option",
        "seed",
        "iterations",
        "missing_dir",
        "readonly_dir",
        "option_syntax",
        "k_too_big",
        "seeds_without_out_dir",
        "out_and_seeds",
    ],
)
def test_bad_input_one_line_exit_2_no_record(tmp_path, capsys, case):
    out = tmp_path / "r.json"
    args = {"task": "gmm-latent", "method": "sdo", "seed": "0", "out": str(out)}
    extra = []
    if case == "task":
        args["task"] = "nope"
    elif case == "method":
        args["method"] = "nope"
    elif case == "option":
        extra = ["--option", "stepp=first"]
    elif case == "seed":
        args["seed"] = "1.5"
    elif case == "iterations":
        extra = ["--iterations", "0"]
    elif case == "missing_dir":
        out = tmp_path / "missing" / "r.json"
        args["out"] = str(out)
    elif case == "readonly_dir":
        out = _readonly_dir(tmp_path) / "r.json"
        args["out"] = str(out)
    elif case == "option_syntax":
        extra = ["--option", "step"]
    elif case == "k_too_big":
        args["method"] = "truncated"
        args["task"] = "gmm-weights"
        extra = ["--option", "k=99"]
    elif case == "seeds_without_out_dir":  # nowhere to write the records
        del args["out"]
        extra = ["--seeds", "0", "1"]
    elif case == "out_and_seeds":  # two places for the records
        extra = ["--seeds", "0", "--out-dir", str(tmp_path / "many")]
    code, _, err = cli_inprocess(capsys, "run", *[x for k, v in args.items() for x in (f"--{k}", v)], *extra)
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and "Traceback" not in err, err
    assert not out.exists()
    if out.parent.exists() and out.parent != Path("/sys"):
        assert list(out.parent.iterdir()) == []


def test_bad_input_from_a_real_process_has_no_traceback(tmp_path):
    p = cli("run", "--task", "nope", "--method", "sdo", "--seed", "0", "--out", str(tmp_path / "r.json"))
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "valid choices" in p.stderr
    assert "Traceback" not in p.stderr


def test_gradcheck_prints_every_method():
    p = cli("gradcheck", "--task", "gmm-weights", "--steps", "10")
    assert p.returncode == 0, p.stderr
    for m in ("bptt", "checkpoint", "truncated-k=1", "adjoint", "sdo"):
        assert m in p.stdout
    row = next(line for line in p.stdout.splitlines() if line.startswith("checkpoint"))
    assert float(row.split()[2]) < 1e-9


def test_list_names_everything_from_the_catalog_without_torch(tmp_path):
    """`list` reads the shipped catalog: every registered name, the registries' own text, no torch
    imported, nothing written under $XDG_CACHE_HOME."""
    from sdo_bench.pipeline.generate import catalog
    from sdo_bench.spec.catalog import text

    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    run = [sys.executable, "-X", "importtime", "-m", "sdo_bench", "list"]
    p = subprocess.run(run, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    for name in sdo_bench.tasks.names() + sdo_bench.methods.names():
        assert name in p.stdout
    assert p.stdout.strip() == text(catalog()).strip()
    assert " torch\n" not in p.stderr and " sdo_bench.tasks\n" not in p.stderr
    assert not any(tmp_path.iterdir())


def test_every_setting_list_shows_goes_through_set(tmp_path):
    """`--set` takes exactly the keys `sdo-bench list` shows, the shorthand flags' keys included, and a
    job's settings reach the record."""
    from sdo_bench.cli.commands import main

    out = tmp_path / "r.json"
    sets = ["steps=5", "iterations=2", "dtype=float64", "seed=3", "batch=4", "lr=0.01", "optimizer=sgd"]
    argv = ["run", "--task", "gmm-latent", "--method", "sdo", "--out", str(out), "--no-fidelity"]
    assert main([*argv, *[x for s in sets for x in ("--set", s)]]) == 0
    rec = json.loads(out.read_text())
    assert (rec["steps"], rec["iterations"], rec["dtype"], rec["seed"], rec["batch"]) == (
        5,
        2,
        "float64",
        3,
        4,
    )
    assert (
        rec["provenance"]["config"]["task_config"]["optimizer"] == "sgd"
        if "config" in rec["provenance"]
        else True
    )


def test_a_run_stopped_by_its_predicted_budget_still_writes_its_images_file(tmp_path):
    """The workflow declares each seed's .npz: a run refused before any work writes one with no images,
    and the samples figure shows its status there."""
    import numpy as np

    from sdo_bench import tasks
    from sdo_bench.report import write
    from sdo_bench.spec.variant import Variant

    paths = []
    for v, budget in ((Variant("sdo"), None), (Variant("bptt"), 1000)):
        out, npz = tmp_path / f"{v.label}.json", tmp_path / f"{v.label}.npz"
        rec = experiment.run(
            tasks.build("gmm-latent", steps=10), v, memory_budget_bytes=budget, out=out, samples_out=npz
        )
        paths.append(out)
    assert rec["status"] == "oom" and "predicted" in rec["error"]
    assert np.load(tmp_path / "bptt.npz")["initial"].size == 0
    write("figures", paths, [], tmp_path / "figures")
    assert (tmp_path / "figures" / "samples_gmm-latent.png").stat().st_size > 10_000


def test_sweep_of_several_variants_equals_each_swept_alone(tmp_path, capsys):
    # a workflow sweep job: every variant and N in one process, records variant by variant
    outs = [str(tmp_path / f"{v}-N{n}.json") for v in ("bptt", "sdo") for n in (3, 5)]
    code, _, err = cli_inprocess(
        capsys, "sweep", "--task", "gmm-latent", "--variants", '[{"method":"bptt"},{"method":"sdo"}]',
        "--steps", "3", "5", "--iterations", "1", "--out", *outs,
    )  # fmt: skip
    assert code == 0, err
    recs = [json.loads(Path(o).read_text()) for o in outs]
    assert [(r["variant"], r["steps"]) for r in recs] == [("bptt", 3), ("bptt", 5), ("sdo", 3), ("sdo", 5)]
    alone = [str(tmp_path / f"alone-N{n}.json") for n in (3, 5)]
    code, _, err = cli_inprocess(
        capsys, "sweep", "--task", "gmm-latent", "--method", "sdo", "--steps", "3", "5", "--iterations", "1",
        "--out", *alone,
    )  # fmt: skip
    assert code == 0, err
    for a, r in zip((json.loads(Path(o).read_text()) for o in alone), recs[2:]):
        same = ("status", "nfe_forward", "nfe_backward", "graph_bytes", "peak_tensor_bytes", "reward_curve")
        assert all(a[key] == r[key] for key in same), [k for k in same if a[k] != r[k]]
