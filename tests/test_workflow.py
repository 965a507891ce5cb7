"""The Snakemake workflow: lint, dry runs with every profile, config errors, and (slow) the CI profile
end to end, with resumption after an interruption."""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sdo_bench.methods import Variant
from sdo_bench.spec import outputs as OUT

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = shutil.which("snakemake") or str(Path(sys.executable).parent / "snakemake")
WEIGHTS = ROOT / "sdo_bench" / "assets" / "digits"

pytestmark = pytest.mark.skipif(
    not Path(SNAKEMAKE).exists(), reason="snakemake not installed (pip install -e '.[workflow]')"
)


def workdir(tmp_path) -> Path:
    """A copy of the workflow files (not of results) to run in."""
    w = tmp_path / "wf"
    w.mkdir()
    for name in ("workflow", "config", "profiles"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, w / name)
    return w


def snakemake(cwd, *args, timeout=900, env_extra=None, **kw):
    env = dict(
        os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}", **(env_extra or {})
    )
    return subprocess.run(
        [SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, **kw
    )


def test_lint_is_clean():
    p = snakemake(ROOT, "--lint")
    assert p.returncode == 0 and "good condition" in p.stdout + p.stderr, p.stdout + p.stderr


@pytest.mark.parametrize("profile", ["default", "ci", "slurm"])
def test_dry_run_with_each_profile(tmp_path, profile):
    w = workdir(tmp_path)
    p = snakemake(w, "-n", "--workflow-profile", f"profiles/{profile}", "--config", f"weights_dir={WEIGHTS}")
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "rule run_gmm_latent:" in out and "rule tables:" in out and "rule figures:" in out


def _resources(out: str) -> dict[str, dict[str, str]]:
    """rule name -> its resources, from a dry run's job listing."""
    jobs = re.finditer(r"^rule (\w+):\n(?:    .*\n)*?    resources: (.*)", out, re.M)
    return {m.group(1): dict(kv.split("=", 1) for kv in m.group(2).split(", ")) for m in jobs}


def test_what_a_profile_sets_for_run_reaches_every_run_rule_evaluated(tmp_path):
    # the run rules are named run_<task>; `run:` in set-resources applies to each, evaluated as
    # Snakemake evaluates it (a quoted string is an expression: sbatch gets --gres=gpu:1, not '...')
    w = workdir(tmp_path)
    args = ["-n", "--profile", "profiles/slurm", "--configfile", "config/ci.yaml",
            "--config", f"weights_dir={WEIGHTS}", "--slurm-no-account"]  # fmt: skip
    p = snakemake(w, *args)
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    res = _resources(p.stdout + p.stderr)
    runs = [r for r in res if r.startswith("run_")]
    assert runs and all(res[r]["slurm_extra"] == "--gres=gpu:1" for r in runs), res
    sweeps = [r for r in res if r.startswith("sweep_")]
    assert sweeps and all(res[r]["slurm_extra"] == "--gres=gpu:1" for r in sweeps), res
    # the command line's, an empty string and an expression of the attempt: the run rules' own
    # defaults (mem_mb 8000) give way
    p = snakemake(w, *args, "--set-resources", "run:slurm_extra=''", "run:mem_mb=1500*attempt")
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    res = _resources(p.stdout + p.stderr)
    assert all(res[r]["slurm_extra"] == "" and res[r]["mem_mb"] == "1500" for r in runs), res


@pytest.mark.parametrize(
    "bad,key",
    [
        ("seeds: zero\n", "seeds"),
        ("seeds: [-1, 0]\n", "seeds"),
        ("methods:\n  - method: sgd\n", "method"),
        ("tasks:\n  - task: gmm-latentt\n", "tasks[0].task"),
        ("methods:\n  - method: sdo\n    options: {stepp: first}\n", "methods[0]"),
        ("tasks:\n  - {task: gmm-latent, steps: many}\n", "steps"),
        ("tasks:\n  - {task: gmm-latent, options: {guidance_scale: 2}}\n", "tasks[0].options.guidance_scale"),
        ("task_options: {sd15_path: /x}\n", "task_options.sd15_path"),
        ("seeds: [0, 1, 0]\n", "config key seeds: [0, 1, 0] lists a seed twice"),
        ("tasks:\n  - {task: gmm-weights, steps: 10}\nmethods:\n  - method: bptt\n  - {method: truncated, "
         "options: {k: 50}}\nsweeps: {tasks: [], steps: [5], iterations: 1, seed: 0, methods: []}\n",
         "truncated-k=50) on tasks[0] (gmm-weights, N=10): option k=50"),
        ("tasks:\n  - {task: gmm-latent, lr: -1}\n", "config error at key tasks[0].lr"),
        ("tasks:\n  - {task: gmm-latent, options: {lr: .nan}}\n", "tasks[0].options.lr: must be a finite"),
        ("report: {reward_margin: .nan}\n", "config key report.reward_margin: must be a finite number"),
        ("tasks:\n  - {task: sdxl-latent-hpsv2}\n", "(sdxl-latent-hpsv2): option sdxl_path is not set"),
        ("cost: {tasks: [gmm-latent], steps: [5000]}\n", "config key cost.steps: steps must be <= 1000"),
        ("sedes: [0]\n", "config error: Additional properties are not allowed ('sedes' was unexpected)"),
        ("tasks:\n  - {task: gmm-latent, stepz: 3}\n", "config error at key tasks[0]: Additional"),
    ],
)  # fmt: skip
def test_config_errors_name_the_key(tmp_path, bad, key):
    w = workdir(tmp_path)
    (w / "bad.yaml").write_text(bad)
    p = snakemake(w, "-n", "--configfile", "bad.yaml")
    out = p.stdout + p.stderr
    assert p.returncode != 0
    assert key in out, out[-3000:]
    assert len(out.splitlines()) < 25, out  # the line that matters, not the whole schema around it
    assert not (w / "results").exists()


def test_jobs_run_with_snakemakes_own_interpreter_and_nothing_on_path(tmp_path):
    w = workdir(tmp_path)
    (w / "one.yaml").write_text("tasks:\n  - {task: gmm-latent, steps: 4, iterations: 1}\nseeds: [0]\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}  # no venv, no sdo-bench
    p = subprocess.run(
        [SNAKEMAKE, "results/raw/gmm-latent/sdo/seed0.json", "--cores", "1", "--configfile", "one.yaml"],
        cwd=w, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    assert json.loads((w / "results/raw/gmm-latent/sdo/seed0.json").read_text())["status"] == "ok"
    assert f"{Path(sys.executable).parent}" in (p.stdout + p.stderr) or "-m sdo_bench" in p.stdout + p.stderr


def _plan(*configfiles, **overrides):
    import yaml
    from snakemake.utils import validate

    from sdo_bench.pipeline.plan import Plan

    config = {}
    for f in ("config/config.yaml", *configfiles):
        config.update(yaml.safe_load((ROOT / f).read_text()))
    config.update(weights_dir=str(WEIGHTS), **overrides)
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    return Plan, config


def fake_paper_paths(root: Path) -> dict:
    """The four local paths of config/paper.yaml, as the config check looks for them (empty files)."""
    sd = root / "stable-diffusion-v1-5"
    for name in ("unet", "vae", "text_encoder", "tokenizer", "scheduler"):
        (sd / name).mkdir(parents=True)
    (sd / "model_index.json").write_text("{}")
    paths = {"sd15_path": str(sd)}
    for key, name in (
        ("hps_checkpoint", "HPS.pt"),
        ("aesthetic_clip", "clip.pt"),
        ("aesthetic_head", "h.pth"),
    ):
        (root / name).write_text("x")
        paths[key] = str(root / name)
    return paths


@pytest.mark.parametrize("configfile", ["config/config.yaml", "config/ci.yaml", "config/paper.yaml"])
def test_the_saved_plan_reads_back_as_the_checked_one(tmp_path, configfile):
    """A job's own Snakemake (SLURM's jobstep) takes the plan the submitting Snakemake saved: every
    output, job argument and input the same as the checked plan's; another config is checked afresh."""
    Plan, config = _plan(configfile)
    if "paper" in configfile:
        config["task_options"].update(fake_paper_paths(tmp_path))
    checked = Plan(config)
    checked.save(tmp_path / "plan.json")
    saved = json.loads((tmp_path / "plan.json").read_text())
    read = Plan.for_job(config, tmp_path / "plan.json")
    assert read.catalog == saved["tasks"] and read.variants == checked.variants
    assert list(read.variants) == list(checked.variants)  # in the config's order (the tables' order)
    assert read.all_outputs() == checked.all_outputs() and read.benchmark_files() == checked.benchmark_files()
    for t in checked.tasks:
        assert read.inputs(t) == checked.inputs(t)
        assert read.task_job_args(t) == checked.task_job_args(t)
    for t in checked.sweep_tasks:
        assert read.task_job_args(t, sweep=True) == checked.task_job_args(t, sweep=True)
        assert read.sweep_task_outputs(t) == checked.sweep_task_outputs(t)
    for t in checked.cost_tasks:
        assert read.cost_args(t, "float32") == checked.cost_args(t, "float32")
        assert read.cost_variants_of(t) == checked.cost_variants_of(t)
    # a different config (here one more seed): not this plan; checked again, which catches its errors
    other = dict(config, seeds=[*config["seeds"], 99])
    assert Plan.for_job(other, tmp_path / "plan.json").seeds[-1] == 99
    with pytest.raises(ValueError, match="config key methods"):
        Plan.for_job(dict(config, methods=[{"method": "sgd"}]), tmp_path / "plan.json")


def test_a_jobs_own_snakemake_parses_without_torch(tmp_path):
    """What SLURM's jobstep does for every job: parse the workflow again (``--mode remote``). With the
    plan saved by the submitting Snakemake it imports neither torch nor matplotlib, and schedules the same
    command; without it (no shared directory) it says so and checks the config again."""
    w = workdir(tmp_path)
    args = ["--configfile", "config/ci.yaml", "--config", f"weights_dir={WEIGHTS}"]
    target = "results/raw/gmm-latent/sdo/seed0.json"

    def parse(mode, dry=("-n",), target=target):
        return subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "snakemake", *dry, "-p", "--cores", "1",
             "--mode", mode, *args, "--", target],
            cwd=w, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    def command(p):
        return next(line for line in p.stdout.splitlines() if " -m sdo_bench run " in line)

    def imported(p, module):
        return re.search(rf"\|\s+{module}$", p.stderr, re.M) is not None

    alone = parse("remote")  # nothing saved yet: checked afresh, with a line saying why
    assert alone.returncode == 0, alone.stderr[-3000:]
    assert "sdo-bench: no plan saved for this config" in alone.stderr and imported(alone, "torch")
    dry = parse("default")  # a dry run checks and writes nothing under .snakemake/
    assert dry.returncode == 0 and not (w / ".snakemake" / "sdo-bench-plan.json").exists()
    assert not (w / ".snakemake" / "sdo-bench-progress.json").exists()
    # the submitting Snakemake, running (another task's job: the target stays to do): checks and saves
    main = parse("default", dry=(), target="results/raw/gmm-weights/bptt/seed0.json")
    assert main.returncode == 0 and (w / ".snakemake" / "sdo-bench-plan.json").is_file(), main.stderr[-3000:]
    job = parse("remote")
    assert job.returncode == 0, job.stderr[-3000:]
    assert "no plan saved" not in job.stderr
    # (pandas: Snakemake's own command line imports it)
    assert imported(job, "sdo_bench.pipeline.plan")
    assert not imported(job, "torch") and not imported(job, "matplotlib")
    assert command(job) == command(dry) == command(alone)
    progress = json.loads((w / ".snakemake" / "sdo-bench-progress.json").read_text())["start"]
    parse("remote")
    # a job's Snakemake leaves `sdo-bench progress`'s start time alone
    assert json.loads((w / ".snakemake" / "sdo-bench-progress.json").read_text())["start"] == progress


@pytest.mark.parametrize("configfile", ["config/paper.yaml", "config/tiny-sd.yaml", "config/full.yaml"])
def test_other_configs_dry_run(tmp_path, configfile):
    """The paper config dry-runs once its four paths name what they should (the config check looks for
    the files, opens none); as shipped, with placeholder paths, it stops on the first, naming it. The
    complete study dry-runs as shipped."""
    w = workdir(tmp_path)
    extra = []
    if "full" in configfile:
        extra = ["--config", f"weights_dir={WEIGHTS}"]
    if "paper" in configfile:
        p = snakemake(w, "-n", "--configfile", configfile)
        assert (
            p.returncode != 0
            and "sd15_path" in p.stdout + p.stderr
            and "model_index.json" in p.stdout + p.stderr
        )
        paths = fake_paper_paths(tmp_path)
        (w / "paths.yaml").write_text("task_options:\n" + "".join(f"  {k}: {v}\n" for k, v in paths.items()))
        extra = ["paths.yaml"]
    p = snakemake(w, "-n", "-p", "--configfile", configfile, *extra)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    assert "rule run_" in out and "rule sweep_" in out and "rule figures:" in out
    if "paper" in configfile:
        # one job per task (every variant and seed), and one sweep job (every variant and N)
        # (a run job gets its whole job as one --spec, a sweep job flags)
        assert out.count(f"{tmp_path}/stable-diffusion-v1-5") >= 3 + 1 and "run --spec" in out
        assert '"seeds":[0,1,2]' in out and f"--set sd15_path={tmp_path}/stable-diffusion-v1-5" in out
        assert '"steps":50' in out and '"guidance_scale":7.5' in out and '"device":"cuda"' in out
    elif "full" in configfile:  # 5 seeds, the authors' regime, 256 judge samples, sweeps to N = 200
        assert '"seeds":[0,1,2,3,4]' in out and '"task_label":"digits-latent-s45"' in out
        assert '"judge_samples":256' in out and "--steps 10 20 50 100 200" in out
    else:
        assert "-m sdo_bench build-tiny" in out and "--set weights_dir=results/models/tiny-sd" in out


def _records(w):
    return sorted((w / "results" / "raw").rglob("*.json"))


@pytest.mark.slow
def test_ci_profile_end_to_end_and_resume(tmp_path):
    w = workdir(tmp_path)
    cmd = [SNAKEMAKE, "--workflow-profile", "profiles/ci", "--config", f"weights_dir={WEIGHTS}"]
    # a first, partial invocation (as if the workflow had been stopped after these runs); one job per
    # task runs every variant and both seeds
    first = ["results/raw/gmm-latent/bptt/seed0.json", "results/raw/digits-latent/checkpoint/seed0.json"]
    p = snakemake(w, *first, *cmd[1:], timeout=600)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    done = {p: p.read_text() for p in _records(w)}  # contents: Snakemake touches a job's outputs
    made = sorted(str(p.relative_to(w)) for p in done)
    assert {m.split("/")[2] for m in made} == {"gmm-latent", "digits-latent"}
    assert {f"{f.rsplit('/', 1)[0]}/seed{s}.json" for f in first for s in (0, 1)} <= set(made)
    for p in done:  # written atomically: every record that exists is complete
        json.loads(p.read_text())
    # as if the job had been stopped after its first seed: the second seed's record is missing
    lost = w / "results/raw/gmm-latent/bptt/seed1.json"
    lost.unlink()
    lost.with_suffix(".npz").unlink()
    del done[lost]
    time.sleep(1)

    p = snakemake(w, *cmd[1:], timeout=1800)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    for path, text in done.items():  # finished runs were not redone, the job's other seed included
        assert path.read_text() == text, path  # (the record holds its own start time)
    assert json.loads(lost.read_text())["status"] == "ok"
    assert "kept: made earlier from the same settings" in (w / "logs/runs/gmm-latent.log").read_text()
    assert "runs: " in p.stdout + p.stderr and "records (" in p.stdout + p.stderr  # progress per family
    assert (w / "results/tables/time_per_rule.md").read_text().count("| runs") >= 1

    table = pd.read_csv(w / "results" / "tables" / "main.csv")
    tasks = ["gmm-latent", "gmm-weights", "digits-latent"]
    methods = ["bptt", "checkpoint", "truncated-k=1", "adjoint", "sdo"]
    # truncated cannot reach x_T (not applicable to the latent target): planned on gmm-weights only
    expected = [(t, m) for t in tasks for m in methods if m != "truncated-k=1" or t == "gmm-weights"]
    assert sorted(zip(table.task, table.method)) == sorted(expected)
    ok = table
    for col in ("time_per_iter_s", "graph_MiB", "reward_final_mean", "grad_cosine_vs_exact"):
        assert all(math.isfinite(v) for v in ok[col]), col
    assert (table[table.method == "checkpoint"].grad_cosine_vs_exact > 0.9999).all()
    for task in tasks:
        t = table[table.task == task].set_index("method")
        assert t.loc["sdo", "graph_MiB"] < t.loc["bptt", "graph_MiB"]
    claims = (w / "results" / "tables" / "claims.md").read_text()
    assert "| gmm-latent | sdo |" in claims
    # peak tensor memory: deterministic, and sdo's activations below bptt's on every task
    for task in tasks:
        t = table[table.task == task].set_index("method")
        assert t.loc["sdo", "activation_MiB"] < t.loc["bptt", "activation_MiB"]
        assert t.loc["bptt", "peak_tensor_MiB"] > 0
    # the cost model (predicted): its table, the OOM map, the figure and the paper-scale claims rows
    cost = pd.read_csv(w / "results" / "tables" / "cost.csv")
    assert sorted(set(cost.method)) == ["bptt", "checkpoint", "sdo"] and sorted(set(cost.N)) == [2, 4]
    oom_map = (w / "results" / "tables" / "oom_map.md").read_text()
    assert re.search(r"\| tiny-sd-latent \| float32 \| bptt +\| +4 \|", oom_map), oom_map
    assert "## At paper scale (predicted" in claims and "| tiny-sd-latent | float32 | 4 | bptt |" in claims
    assert (w / "figures" / "cost_memory_tiny-sd-latent.png").stat().st_size > 10_000
    # the cost model checked against a real CPU run (cost_check on, device cpu, N = 2): the tensor
    # tracker on real tensors equals the prediction, and the cost table says which rows were checked
    check = pd.read_csv(w / "results" / "tables" / "cost_check.csv")
    assert sorted(check.method) == ["bptt", "checkpoint", "sdo"] and set(check.N) == {2}
    assert (check.status == "ok").all() and (abs(check["tracker/predicted"] - 1) <= 0.03).all(), check
    checked = cost.set_index(["method", "N"]).checked_on
    assert all(checked[(m, 2)].startswith("cpu (x") for m in ("bptt", "checkpoint", "sdo"))
    assert checked[[(m, 4) for m in ("bptt", "checkpoint", "sdo")]].isna().all()
    for kind in ("reward_vs_iter", "reward_vs_time", "samples"):
        for task in tasks:
            assert (w / "figures" / f"{kind}_{task}.png").stat().st_size > 10_000
    for kind in ("scaling", "fidelity"):
        assert (w / "figures" / f"{kind}_gmm-latent.png").stat().st_size > 10_000
    assert (
        json.loads((w / "results" / "model" / "model_quality.json").read_text())[
            "samples_judged_as_their_class"
        ]
        >= 0.9
    )
    rep = snakemake(w, *cmd[1:], "--report", "report.html", timeout=600)
    assert rep.returncode == 0 and (w / "report.html").stat().st_size > 50_000, rep.stderr[-2000:]
    html = (w / "report.html").read_text()
    # the verdict: one entry per task plus the cost model's, and first in the report
    verdict = (w / "results" / "verdict.md").read_text()
    assert all(f"- **{t}**" in verdict for t in tasks) and "- **tiny-sd-latent** at N = 4" in verdict
    assert "1. Verdict" in html and "cannot decide" in verdict  # the CI config has two seeds
    assert sys.executable not in html and str(Path(sys.executable).parent) not in html  # no machine paths
    for kind in ("headline", "reward_vs_iter", "samples", "scaling"):  # each kind under its own title
        assert f'"category": "{OUT.FIGURE_TITLES[kind]}"' in html or OUT.FIGURE_TITLES[kind] in html, kind

    # sdo-bench compare: a second CI-sized run of the same commit changes no deterministic figure (exit 0;
    # times are left out with a tolerance no shared machine needs); one method changed under its label
    # (truncated's K) is reported and fails (exit 1)
    w2 = tmp_path / "second"
    w2.mkdir()
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(ROOT / name, w2 / name)
    p = snakemake(w2, *cmd[1:], timeout=1800)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    compare = [sys.executable, "-m", "sdo_bench", "compare", str(w / "results"), str(w2 / "results")]
    loose = ["--tolerance", "1e6"]
    same = subprocess.run([*compare, *loose, "--json"], capture_output=True, text=True, timeout=300)
    assert same.returncode == 0, same.stdout[-3000:] + same.stderr[-2000:]
    res = json.loads(same.stdout)
    assert res["ok"] and res["moved"] == [], res["moved"]
    assert len(res["cases"]) == len(pd.read_csv(w / "results" / "tables" / "main.csv"))
    outs = [str(w2 / "results/raw/gmm-weights/truncated-k=1" / f"seed{s}.json") for s in (0, 1)]
    changed = subprocess.run(
        [sys.executable, "-m", "sdo_bench", "run", "--task", "gmm-weights", "--method", "truncated",
         "--option", "k=2", "--label", "truncated-k=1", "--steps", "10", "--iterations", "4", "--seed", "0",
         "1", "--out", *outs],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr[-2000:]
    diff = subprocess.run([*compare, *loose], capture_output=True, text=True, timeout=300)
    assert diff.returncode == 1, diff.stdout[-3000:]
    failed = [line for line in diff.stdout.splitlines() if "FAIL" in line and not line.startswith("compare")]
    assert failed and all(line.startswith("gmm-weights/truncated-k=1") for line in failed), failed


@pytest.mark.slow
def test_tiny_sd_config_end_to_end(tmp_path):
    """config/tiny-sd.yaml, shrunk: builds tiny-sd through its rule, runs every method on every tiny-sd
    task through the SD code path, and makes the tables and figures."""
    import yaml

    w = workdir(tmp_path)
    cfg = yaml.safe_load((ROOT / "config" / "tiny-sd.yaml").read_text())
    for entry in cfg["tasks"]:
        entry.update(steps=3, iterations=2)
    cfg["sweeps"].update(steps=[2, 4], iterations=1)
    (w / "small.yaml").write_text(yaml.safe_dump(cfg))
    p = snakemake(
        w,
        "--cores",
        "2",
        "--configfile",
        "small.yaml",
        timeout=1500,
        env_extra={"SDO_BENCH_CACHE": str(tmp_path / "never-used-cache")},
    )
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    assert (w / "results" / "models" / "tiny-sd" / "model_index.json").is_file()
    assert not (tmp_path / "never-used-cache").exists()  # the workflow's own copy was used
    table = pd.read_csv(w / "results" / "tables" / "main.csv")
    labels = [Variant.from_config(v).label for v in cfg["methods"]]
    assert sorted(zip(table.task, table.method)) == sorted(
        (e["task"], m)
        for e in cfg["tasks"]
        for m in labels
        if not (m.startswith("truncated") and "latent" in e["task"])  # not applicable: not planned
    )
    ok = table[table.status.str.startswith("ok")]
    assert len(ok) == len(table)
    assert (ok[ok.method == "checkpoint"].grad_cosine_vs_exact > 0.9999).all()
    for task in ("tiny-sd-latent", "tiny-sd-condition", "tiny-sd-lora"):
        t = table[table.task == task].set_index("method")
        assert t.loc["sdo", "graph_MiB"] < t.loc["bptt", "graph_MiB"]
        assert (w / "figures" / f"samples_{task}.png").stat().st_size > 10_000
    assert (w / "figures" / "scaling_tiny-sd-latent.png").stat().st_size > 10_000


KILL_CONFIG = """
seeds: [0, 1, 2]
tasks:
  - {task: gmm-latent, steps: 10, iterations: 150}
methods:
  - method: bptt
sweeps: {tasks: [], steps: [5], iterations: 1, seed: 0, methods: []}
cost: {tasks: [], methods: [], steps: [2], dtypes: [float32], attention: flash, batch: null}
"""


def test_a_job_killed_after_its_first_seed_keeps_it(tmp_path):
    """SIGKILL (the OOM killer, a cluster's time limit) of a run job's python after seed 0: Snakemake
    deletes the failed job's outputs, but the seed's kept copy survives and the rerun restores it."""
    import psutil

    w = workdir(tmp_path)
    (w / "kill.yaml").write_text(KILL_CONFIG)
    target = "results/raw/gmm-latent/bptt/seed2.json"
    args = [
        SNAKEMAKE,
        target,
        "--cores",
        "1",
        "--configfile",
        "kill.yaml",
        "--config",
        f"weights_dir={WEIGHTS}",
    ]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    proc = subprocess.Popen(args, cwd=w, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = w / "results/raw/gmm-latent/bptt/seed0.json"
    deadline = time.time() + 300
    while not first.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert first.exists(), proc.communicate()[0][-3000:]
    made = json.loads(first.read_text())["provenance"]["start_time"]
    lines = [(c, " ".join(c.cmdline())) for c in psutil.Process(proc.pid).children(recursive=True)]
    jobs = [c for c, line in lines if "sdo_bench" in line and " run " in line]
    assert jobs, "no run job found"
    for job in jobs:
        job.kill()  # SIGKILL: no handler runs, no cleanup of its own
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode != 0, out[-3000:]
    kept = w / "results/kept/gmm-latent/bptt/seed0.json"
    assert kept.is_file() and not (w / target).exists()
    assert not first.exists()  # Snakemake removed the failed job's outputs, the finished seed's too

    p = snakemake(w, *args[1:], timeout=600)
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    assert json.loads(first.read_text())["provenance"]["start_time"] == made  # restored, not redone
    log = (w / "logs/runs/gmm-latent.log").read_text()
    assert "seed=0: ok" in log and "kept: made earlier from the same settings" in log
    assert json.loads((w / target).read_text())["status"] == "ok"


#: what a placeholder pipeline directory gets (every family's subfolders: the config check looks for them)
PIPELINE_DIRS = ("unet", "transformer", "vae", "text_encoder", "text_encoder_2", "text_encoder_3",
                 "tokenizer", "tokenizer_2", "tokenizer_3", "scheduler")  # fmt: skip


@pytest.mark.parametrize(
    "configfile,key,runs",
    [("config/sdxl.yaml", "sdxl_path", 3), ("config/sd35.yaml", "sd35_path", 6),
     ("config/flux.yaml", "flux_path", 6), ("config/authors.yaml", "sd14_path", 2)],
)  # fmt: skip
def test_the_family_configs_plan_every_run_once_their_paths_exist(tmp_path, configfile, key, runs):
    """As shipped (placeholder paths) the dry run stops on the first, in one line naming the key and the
    files; with the placeholders standing for real directories (empty, as the check opens nothing) it
    plans one job per task (every method and seed) on CUDA."""
    w = workdir(tmp_path)
    p = snakemake(w, "-n", "--configfile", configfile)
    lines = [ln for ln in (p.stdout + p.stderr).splitlines() if f"{key}: directory" in ln]
    assert p.returncode != 0 and len(lines) == 1 and "model_index.json" in lines[0], p.stderr[-2000:]
    text = (ROOT / configfile).read_text()
    for placeholder in sorted(set(re.findall(r"/path/to/[^\s}#,]+", text))):
        fake = tmp_path / placeholder.removeprefix("/path/to/")
        if Path(placeholder).suffix in (".pt", ".pth", ".jpg", ".png"):  # a file (a checkpoint, an image)
            fake.write_text("x")
        else:
            for name in PIPELINE_DIRS:
                (fake / name).mkdir(parents=True)
            (fake / "model_index.json").write_text("{}")
        text = text.replace(placeholder, str(fake))
    (w / "real.yaml").write_text(text)
    p = snakemake(w, "-n", "-p", "--configfile", "real.yaml")
    out = p.stdout + p.stderr
    assert p.returncode == 0, out[-3000:]
    assert out.count("run --spec") == runs and '"seeds":[0,1,2' in out and '"device":"cuda"' in out
    assert f"--set {key}={tmp_path}" in out or f'"{key}":"{tmp_path}' in out
