"""Bad input, as a new user types it: every case exits 2 with one line on stderr that names the key,
flag or file, no traceback, and leaves the folder it ran in as it was. A table of cases across every
subcommand; the workflow's config cases are in tests/test_workflow.py and below (Plan, in-process)."""

import os
import signal

import pytest

from sdo_bench.cli.commands import main

RUN = ["run", "--task", "gmm-latent", "--method", "sdo", "--out", "r.json"]
RUN_W = ["run", "--task", "gmm-weights", "--method", "bptt", "--out", "r.json"]
DIG = ["run", "--task", "digits-condition", "--method", "sdo", "--out", "r.json", "--set", "judge=false"]
TINY = ["run", "--task", "tiny-sd-latent", "--method", "sdo", "--out", "r.json"]
SD15 = ["run", "--task", "sd15-latent-hpsv2", "--method", "sdo", "--out", "r.json"]
SWEEP = ["sweep", "--task", "gmm-latent", "--method", "sdo"]
COST = ["cost", "--task", "gmm-latent", "--method", "bptt"]


def _set(base, **kv):
    return [*base, *[x for k, v in kv.items() for x in ("--set", f"{k}={v}")]]


CASES = [
    # common settings, each by its rule
    *[(_set(RUN, **{k: v}), k) for k in ("steps", "batch", "iterations")
      for v in ("0", "-1", "1.5", "abc", "true", "[1]")],
    (_set(RUN, steps=1001), "steps"),
    *[(_set(RUN, seed=v), "seed") for v in ("-1", "100000000000000000000000", "1.5", "x")],
    *[(_set(RUN, lr=v), "lr") for v in ("0", "-1", "NaN", "Infinity", "1e300", "x", "true", "[0.1]")],
    (_set(RUN, lr="70000", dtype="float16"), "lr"),
    *[(_set(RUN, prior=v), "prior") for v in ("l2", "3", "NORM")],
    (_set(RUN_W, prior="norm"), "prior"),
    *[(_set(RUN, prior="norm", prior_weight=v), "prior_weight") for v in ("-1", "NaN", "Infinity", "lots", "1e300")],
    # the parameter targets' regularizer: a known name, a finite weight >= 0, never on a latent task
    *[(_set(RUN_W, regularizer=v), "regularizer") for v in ("l2", "KL", "3")],
    *[(_set(RUN_W, regularizer="kl", regularizer_weight=v), "regularizer_weight")
      for v in ("-1", "NaN", "Infinity", "lots", "1e300")],
    (_set(RUN, regularizer="kl"), "regularizer"),
    (_set(RUN, regularizer="pretrain", regularizer_weight=1), "regularizer"),
    (_set(TINY, regularizer="kl"), "regularizer"),
    *[(_set(RUN, start_step=v), "start_step") for v in ("-1", "20", "25", "x")],
    (_set(RUN_W, start_step=3), "start_step"),
    (_set(RUN, start_step=3, prior="norm"), "prior"),
    *[(_set(RUN, optimizer=v), "optimizer") for v in ("rmsprop", "3", "ADAM")],
    *[(_set(RUN, dtype=v), "dtype") for v in ("float8", "int32", "half")],
    *[(_set(RUN, device=v), "device") for v in ("tpu", "cuda:x", "gpu")],
    ([*RUN, "--device", "gpu0"], "device"),
    ([*RUN, "--dtype", "float8"], "--dtype"),
    (_set(RUN, nope=1), "nope"),
    ([*RUN, "--set", "steps"], "--set"),
    ([*RUN, "--set", "prompts=[1, 2"], "JSON"),
    ([*RUN, "--steps", "5", "--set", "steps=6"], "steps"),
    ([*RUN, "--seed", "1", "--set", "seed=2"], "seed"),
    # the gmm family's options
    *[(_set(RUN, components=v), "components") for v in ("0", "-1", "2.5", "x")],
    *[(_set(RUN, dim=v), "dim") for v in ("0", "-2", "x")],
    *[(_set(RUN, radius=v), "radius") for v in ("-1", "NaN", "x")],
    *[(_set(RUN, std=v), "std") for v in ("0", "-1", "NaN", "abc")],
    *[(_set(RUN, target_point=v), "target_point") for v in ("[1]", "[1, 2, 3]", "x", "[1, \"a\"]", "[NaN, 1]")],
    # names: task, method, options
    (["run", "--task", "nope", "--method", "sdo", "--out", "r.json"], "nope"),
    (["run", "--task", "gmm-latent", "--method", "nope", "--out", "r.json"], "nope"),
    ([*RUN, "--option", "nope=1"], "nope"),
    ([*RUN, "--option", "step"], "--option"),
    ([*RUN, "--option", "step=middle"], "step"),
    ([*RUN, "--option", "keep=0"], "keep"),
    ([*RUN_W[:4], "truncated", *RUN_W[5:], "--option", "k=0"], "k"),
    ([*RUN_W[:4], "truncated", *RUN_W[5:], "--option", "k=21"], "k"),
    ([*RUN_W[:4], "truncated", *RUN_W[5:], "--option", "k=abc"], "k"),
    ([*RUN_W[:4], "drtune", *RUN_W[5:], "--option", "k=0"], "k"),
    ([*RUN_W[:4], "drtune", *RUN_W[5:], "--option", "k=many"], "k"),
    ([*RUN_W[:4], "draft-lv", *RUN_W[5:], "--option", "n=0"], "n"),
    # several variants in one process (the workflow's jobs)
    (["run", "--task", "gmm-latent", "--variants", "[{", "--out", "r.json"], "--variants"),
    (["run", "--task", "gmm-latent", "--variants", "{}", "--out", "r.json"], "--variants"),
    (["run", "--task", "gmm-latent", "--variants", '[{"options": {}}]', "--out", "r.json"], "--variants[0]"),
    (["run", "--task", "gmm-latent", "--variants", '[{"method": "sdo", "k": 1}]', "--out", "r.json"], "--variants[0]"),
    (["run", "--task", "gmm-latent", "--variants", '[{"method": "nope"}]', "--out", "r.json"], "nope"),
    (["run", "--task", "gmm-latent", "--variants", '[{"method": "sdo"}, {"method": "bptt"}]', "--out", "r.json"],
     "variant and seed"),
    (["run", "--task", "gmm-latent", "--variants", '[{"method": "sdo"}, {"method": "sdo"}]', "--out", "a.json",
      "b.json"], "twice"),
    ([*RUN, "--variants", '[{"method": "sdo"}]'], "once"),
    (["run", "--task", "gmm-latent", "--out", "r.json"], "--method"),
    # outputs
    (["run", "--task", "gmm-latent", "--method", "sdo", "--out", "sub"], "sub"),
    (["run", "--task", "gmm-latent", "--method", "sdo", "--out", "missing/r.json"], "missing"),
    (["run", "--task", "gmm-latent", "--method", "sdo", "--out", ""], "output"),
    (["run", "--task", "gmm-latent", "--method", "sdo", "--out", "/proc/r.json"], "/proc"),
    (["run", "--task", "gmm-latent", "--method", "sdo", "--out", "file.txt/r.json"], "file.txt"),
    (["run", "--task", "gmm-latent", "--method", "sdo", "--seeds", "0", "1", "--out", "a.json"], "--out"),
    (["run", "--task", "gmm-latent", "--method", "sdo", "--seeds", "0", "0", "--out", "a.json", "b.json"], "seed"),
    ([*RUN, "--samples-out", "a.npz", "b.npz"], "--samples-out"),
    ([*RUN, "--samples-out", "sub"], "sub"),
    ([*RUN, "--keep-dir", "file.txt"], "file.txt"),
    (["run", "--task", "gmm-latent", "--method", "sdo"], "--out"),
    ([*RUN, "--steps", "0"], "--steps"),
    ([*RUN, "--iterations", "x"], "--iterations"),
    ([*RUN, "--memory-budget-bytes", "0"], "--memory-budget-bytes"),
    # the digits family
    *[(_set(DIG, target_digit=v), "target_digit") for v in ("42", "-1", "x")],
    *[(_set(DIG, source_digit=v), "source_digit") for v in ("42", "-3", "x")],
    *[(_set(DIG, judge_samples=v), "judge_samples") for v in ("0", "1", "x")],
    *[(_set(DIG, guidance_scale=v), "guidance_scale") for v in ("high", "NaN", "[2]")],
    (_set(DIG, judge="maybe"), "judge"),
    (_set(DIG, weights_dir="nowhere"), "nowhere"),
    (_set(DIG, weights_dir="3"), "weights_dir"),
    ([*DIG[:2], "digits-lora", *DIG[3:], "--set", "lora_rank=0"], "lora_rank"),
    ([*DIG[:2], "digits-lora", *DIG[3:], "--set", "eval_batch=0"], "eval_batch"),
    # Stable Diffusion
    *[(_set(TINY, prompts=v), "prompts") for v in ("[]", "[1]", '[""]', "3")],
    *[(_set(TINY, guidance_scale=v), "guidance_scale") for v in ("high", "NaN")],
    (_set(TINY, weights_dir="typo-dir"), "weights_dir"),
    (_set(TINY, reward_dir="typo-dir"), "reward_dir"),
    (SD15, "sd15_path"),
    (_set(SD15, sd15_path="/nonexistent/sd15"), "sd15_path"),
    (_set(SD15, hps_version="v3"), "hps_version"),
    (["run", "--task", "sd15-latent-aesthetic", "--method", "sdo", "--out", "r.json", "--set", "sd15_path=sub"],
     "sd15_path"),
    # sweep: every N checked before the first
    ([*SWEEP, "--steps", "10", "2000", "--out", "a.json", "b.json"], "steps"),
    ([*SWEEP, "--steps", "0", "--out", "a.json"], "--steps"),
    ([*SWEEP, "--steps", "5", "10", "--out", "a.json"], "--out"),
    ([*SWEEP, "--steps", "10", "5", "--out", "a.json", "b.json", "--set", "start_step=7"], "start_step"),
    (["sweep", "--task", "gmm-latent", "--method", "truncated", "--option", "k=8", "--steps", "10", "5",
      "--out", "a.json", "b.json"], "k"),
    ([*SWEEP, "--steps", "5", "--out", "sub"], "sub"),
    ([*SWEEP, "--steps", "5", "--out", "missing/a.json"], "missing"),
    ([*SWEEP, "--steps", "5", "--out", "a.json", "--set", "lr=-1"], "lr"),
    ([*SWEEP, "--steps", "5", "--out", "a.json", "--seed", "-1"], "--seed"),
    ([*SWEEP, "--steps", "5", "--out", "a.json", "--iterations", "0"], "--iterations"),
    (["sweep", "--task", "nope", "--method", "sdo", "--steps", "5", "--out", "a.json"], "nope"),
    # sweep --variants: one --out per variant and N, every variant's options against every N first
    (["sweep", "--task", "gmm-latent", "--variants", '[{"method":"bptt"},{"method":"sdo"}]', "--steps", "4",
      "--out", "a.json"], "--out"),
    (["sweep", "--task", "gmm-latent", "--variants", '[{"method":"bptt"},{"method":"truncated","options":{"k":8}}]',
      "--steps", "10", "5", "--out", "a.json", "b.json", "c.json", "d.json"], "k"),
    (["sweep", "--task", "gmm-latent", "--variants", '[{"method":"sdo"}]', "--method", "sdo", "--steps", "4",
      "--out", "a.json"], "--variants"),
    # cost
    ([*COST, "--steps", "4", "--dtype", "float64"], "--dtype"),
    ([*COST, "--steps", "4", "--attention", "xla"], "--attention"),
    ([*COST, "--steps", "0"], "--steps"),
    ([*COST, "--steps", "4", "--batch", "0"], "--batch"),
    (["cost", "--task", "nope", "--method", "bptt", "--steps", "4"], "nope"),
    (["cost", "--task", "gmm-latent", "--method", "nope", "--steps", "4"], "nope"),
    ([*COST, "--steps", "4", "--out", "sub"], "sub"),
    ([*COST, "--steps", "4", "--out", "missing/c.json"], "missing"),
    (["cost", "--task", "gmm-weights", "--method", "truncated", "--option", "k=8", "--steps", "10", "4"], "k"),
    ([*COST, "--steps", "4", "--set", "lr=x"], "lr"),
    ([*COST, "--steps", "4", "--set", "components=0"], "components"),
    ([*COST, "--steps", "2000"], "steps"),
    ([*COST, "--steps", "4", "--set", "dtype=float64"], "--set dtype"),
    ([*COST, "--steps", "4", "--set", "steps=5"], "--set steps"),
    ([*RUN, "--task-label", ""], "--task-label"),
    ([*RUN, "--label", " "], "--label"),
    # gradcheck
    (["gradcheck", "--task", "nope"], "nope"),
    (["gradcheck", "--task", "gmm-latent", "--steps", "0"], "--steps"),
    (["gradcheck", "--task", "gmm-latent", "--steps", "2000"], "steps"),
    (["gradcheck", "--task", "gmm-latent", "--dtype", "float16"], "--dtype"),
    (["gradcheck", "--task", "gmm-latent", "--seed", "x"], "--seed"),
    # regress
    *[(["regress", "--tolerance", v], "--tolerance") for v in ("nan", "inf", "-1", "abc", "-inf")],
    (["regress", "--baseline", "nowhere.json"], "nowhere.json"),
    (["regress", "--baseline", "bad.json"], "bad.json"),
    (["regress", "--baseline", "list.json"], "list.json"),
    (["regress", "--update", "--baseline", "sub"], "sub"),
    (["regress", "--save", "missing/s.json"], "missing"),
    # report
    (["report", "tables", "--records", "nowhere.json", "--out", "t"], "nowhere.json"),
    (["report", "tables", "--records", "list.json", "--out", "t"], "list.json"),
    (["report", "tables", "--records", "bad.json", "--out", "t"], "bad.json"),
    (["report", "tables", "--records", "record.json", "--out", "t", "--reference", "nope"], "nope"),
    (["report", "tables", "--records", "record.json", "--out", "file.txt"], "file.txt"),
    (["report", "tables", "--out", "t"], "--records"),
    (["report", "figures", "--records", "record.json", "--sweeps", "nowhere.json", "--out", "t"], "nowhere.json"),
    (["report", "figures", "--records", "record.json", "--out", "/proc/t"], "/proc"),
    (["report", "benchmarks", "--benchmarks", "nowhere.tsv", "--out", "t"], "nowhere.tsv"),
    (["report", "nothing", "--out", "t"], "what"),
    (["report", "tables", "--records", "record.json", "--costs", "bad.json", "--out", "t"], "bad.json"),
    # training and evaluation of the digits world, tiny checkpoints
    (["train-model", "--out", "file.txt"], "file.txt"),
    (["train-model", "--out", "/proc/w"], "/proc"),
    (["train-model", "--out", "w", "--steps", "0"], "--steps"),
    (["train-model", "--out", "w", "--batch", "0"], "--batch"),
    (["train-classifier", "--out", "file.txt"], "file.txt"),
    (["train-classifier", "--out", "w", "--which", "x"], "--which"),
    (["train-classifier", "--out", "w", "--epochs", "0"], "--epochs"),
    (["evaluate-model", "--weights", "nowhere", "--out", "q.json"], "nowhere"),
    (["evaluate-model", "--weights", "DIGITS", "--out", "sub"], "sub"),
    (["evaluate-model", "--weights", "DIGITS", "--out", "q.json", "--grid", "missing/g.png"], "missing"),
    (["evaluate-model", "--weights", "DIGITS", "--out", "q.json", "--samples", "0"], "--samples"),
    (["build-tiny", "--sd-out", "file.txt", "--clip-out", "c"], "file.txt"),
    (["build-tiny", "--sd-out", "s", "--clip-out", "/proc/c"], "/proc"),
    (["build-tiny", "--sd-out", "s"], "--clip-out"),
    (["progress", "nothing"], "family"),
    (["nothing"], "nothing"),
    # compare: two results folders or record files
    (["compare", "missing", "sub"], "missing"),
    (["compare", "sub", "record.json"], "sub"),
    (["compare", "record.json", "bad.json"], "bad.json"),
    (["compare", "record.json", "list.json"], "list.json"),
    (["compare", "record.json", "file.txt"], "file.txt"),
    (["compare", "record.json", "record.json", "--tolerance", "nan"], "--tolerance"),
    (["compare", "record.json", "record.json", "--tolerance", "0"], "--tolerance"),
    (["compare", "record.json"], "B"),
    # no two outputs share a path; labels that become folder names follow the schema's pattern
    ([*RUN, "--seed", "0", "1", "--out", "a.json", "a.json"], "--out a.json and --out a.json"),
    ([*RUN, "--samples-out", "r.json"], "--samples-out r.json"),
    ([*RUN, "--samples-out", "./r.json"], "--out r.json and --samples-out ./r.json"),
    ([*RUN, "--keep-dir", "r.json"], "--keep-dir r.json"),
    ([*RUN, "--log-dir", "tb", "--keep-dir", "tb"], "--keep-dir tb and --log-dir tb"),
    ([*SWEEP, "--steps", "5", "10", "--out", "b.json", "b.json"], "--out b.json and --out b.json"),
    ([*SWEEP, "--steps", "5", "5", "--out", "b.json", "c.json"], "N twice"),
    (["cost", "--task", "gmm-latent", "--steps", "3", "--variants", '[{"method": "bptt"}, {"method": "sdo"}]',
      "--out", "c.json", "c.json"],
     "--out c.json and --out c.json"),
    ([*RUN, "--task-label", "../../../esc", "--log-dir", "a/b/tb"], "task label"),
    ([*RUN, "--task-label", "Big Task"], "task label"),
    ([*RUN, "--label", "a/b"], "variant label"),
    ([*RUN, "--label", "x\udcff"], "variant label"),
    ([*RUN, "--option", "step=../x"], "variant label"),
    ([*SWEEP, "--steps", "5", "--out", "b.json", "--label", "../x"], "variant label"),
    (["run", "--task", "gmm-latent", "--method", "sdo", "--out", "x" * 300 + ".json"], "255"),
    (["report", "tables", "--records", "record.json", "--out", "t" * 300], "255"),
    ([*RUN, "--keep-dir", "loop"], "symbolic link loop"),
    # --spec: the whole job in one JSON object, alone
    (["run", "--spec", "{not json"], "--spec"),
    (["run", "--spec", "@nowhere.json"], "nowhere.json"),
    (["run", "--spec", "[1]"], "JSON object"),
    (["run", "--spec", '{"task": "gmm-latent"}'], "variants"),
    (["run", "--spec", '{"task": "gmm-latent", "variants": [{"method": "sdo"}], "seeds": [0], "outs": ["r.json"]}',
      "--seed", "1"], "give the job once"),
    (["run", "--spec", '{"task": "nope", "variants": [{"method": "sdo"}], "seeds": [0], "outs": ["r.json"]}'],
     "nope"),
    # record readers check field types and name file and field
    (["report", "tables", "--records", "typed.json", "--out", "t"], "time_per_iter_s"),
    (["report", "tables", "--records", "high.json", "--out", "t"], "reward_final"),
    (["report", "tables", "--records", "record.json", "copy.json", "--out", "t"], "same run"),
    (["report", "tables", "--records", "record.json", "--checks", "rows1.json", "--out", "t"], "rows1.json"),
    (["report", "tables", "--records", "record.json", "--costs", "rows1.json", "--out", "t"], "rows1.json"),
    (["report", "tables", "--records", "sub", "--out", "t"], "sub"),
    (["report", "tables", "--records", "fifo.json", "--out", "t"], "fifo.json"),
    (["compare", "record.json", "typed.json"], "time_per_iter_s"),
    # --log-dir must be a folder
    ([*RUN, "--log-dir", "file.txt"], "--log-dir"),
    ([*RUN, "--log-dir", "/proc/tb"], "--log-dir"),
]  # fmt: skip


def _tree(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            out[os.path.relpath(p, root)] = None if os.path.isdir(p) else os.lstat(p).st_size
    return out


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A folder with what the cases name: a subfolder, a plain file, bad JSON, a JSON list, a record
    (a folder nobody may write, even root: /proc)."""
    import json
    from pathlib import Path

    from sdo_bench.tasks.digits import DEFAULT_WEIGHTS

    (tmp_path / "sub").mkdir()
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    record = Path(__file__).parent / "data" / "record.json"
    (tmp_path / "record.json").write_text(record.read_text() if record.exists() else json.dumps({}))
    (tmp_path / "copy.json").write_text(record.read_text())
    rec = json.loads(record.read_text())
    (tmp_path / "typed.json").write_text(json.dumps(dict(rec, time_per_iter_s=5)))
    (tmp_path / "high.json").write_text(json.dumps(dict(rec, reward_final="high")))
    (tmp_path / "rows1.json").write_text(json.dumps({"rows": [1]}))
    os.mkfifo(tmp_path / "fifo.json")
    os.symlink("loop", tmp_path / "loop")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SDO_BENCH_CACHE", str(tmp_path / "sub"))  # a default build would show up here
    yield tmp_path, str(DEFAULT_WEIGHTS)


@pytest.mark.parametrize("argv,names", CASES, ids=[" ".join(c[0])[:90] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(folder, capsys, argv, names):
    root, digits = folder
    argv = [digits if a == "DIGITS" else a for a in argv]
    before = _tree(root)

    def too_long(*_):
        raise TimeoutError("bad input must be refused before any work (took over 30 s)")

    signal.signal(signal.SIGALRM, too_long)
    signal.alarm(30)
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors
        code = e.code
    finally:
        signal.alarm(0)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert names in lines[0], lines[0]
    assert _tree(root) == before, "the folder changed"


def test_there_are_at_least_150_cases():
    assert len(CASES) >= 150


# the workflow's config: every case stops at the config check (what `snakemake -n` runs), naming the key
BASE = {"tasks": [{"task": "gmm-latent", "steps": 10}], "methods": [{"method": "bptt"}, {"method": "sdo"}]}
CONFIG_CASES = [
    ({"tasks": [{"task": "digits-latent", "options": {"target_digit": 42}}]}, "target_digit"),
    ({"tasks": [{"task": "gmm-latent", "options": {"components": 0}}]}, "components"),
    ({"tasks": [{"task": "digits-condition", "options": {"guidance_scale": "high"}}]}, "guidance_scale"),
    ({"tasks": [{"task": "tiny-sd-latent", "options": {"prompts": []}}]}, "prompts"),
    ({"tasks": [{"task": "digits-condition", "options": {"judge_samples": 0}}]}, "judge_samples"),
    ({"tasks": [{"task": "gmm-latent", "options": {"lr": 1e300}}]}, "lr"),
    ({"tasks": [{"task": "gmm-latent", "options": {"target_point": [1.0]}}]}, "target_point"),
    ({"tasks": [{"task": "sd15-latent-hpsv2"}]}, "sd15_path"),
    ({"tasks": [{"task": "sd15-latent-hpsv2", "options": {"sd15_path": "/nonexistent"}}]}, "sd15_path"),
    ({"tasks": [{"task": "tiny-sd-latent", "options": {"weights_dir": "typo"}}]}, "weights_dir"),
    ({"seeds": [10**23]}, "seeds"),
    ({"sweeps": {"tasks": ["gmm-latent"], "steps": [10**6]}}, "sweeps.steps"),
    ({"tasks": [{"task": "gmm-latent", "label": "s", "options": {"start_step": 8}}],
      "sweeps": {"tasks": ["s"], "steps": [5, 20]}}, "start_step"),
    ({"methods": [{"method": "bptt"}, {"method": "truncated", "options": {"k": 6}}],
      "cost": {"tasks": ["tiny-sd-latent"], "steps": [2, 4]}}, "cost (tiny-sd-latent, N=2)"),
    ({"device": "gpu"}, "device"),
    ({"dtype": "float8"}, "dtype"),
    ({"cost": {"tasks": ["gmm-latent"], "dtypes": ["float64"]}}, "cost.dtypes"),
    ({"cost": {"tasks": ["gmm-latent"], "attention": "xla"}}, "cost.attention"),
    ({"report": {"reference_method": "nope"}}, "report.reference_method"),
    # what a job would refuse is refused at the config check, before the first job runs
    ({"cost": {"tasks": ["gmm-latent"], "steps": [5000]}}, "cost.steps"),
    ({"cost_check": {"steps": [5000]}}, "cost_check.steps"),
    ({"methods": [{"method": "bptt"}, {"method": "truncated", "options": {"k": 6}}],
      "cost": {"tasks": ["gmm-latent"], "steps": [10]}, "cost_check": {"enabled": True, "steps": [2]}},
     "cost_check (gmm-latent, N=2)"),
    ({"report": {"reward_margin": float("nan")}}, "report.reward_margin"),
    ({"tasks": [{"task": "gmm-latent", "options": {"lr": float("inf")}}]}, "tasks[0].options.lr"),
    ({"tasks": [{"task": "sdxl-latent-hpsv2"}]}, "sdxl_path is not set"),
    ({"tasks": [{"task": "flux-dev-latent-hpsv2"}]}, "flux_path is not set"),
    ({"sweeps": {"tasks": ["sd35-medium-latent-hpsv2"], "steps": [4]}}, "sd35_path is not set"),
]  # fmt: skip


@pytest.mark.parametrize("change,key", CONFIG_CASES, ids=[c[1] for c in CONFIG_CASES])
def test_a_bad_config_stops_before_any_job_naming_the_key(tmp_path, monkeypatch, change, key):
    import copy
    from pathlib import Path

    from snakemake.utils import validate

    from sdo_bench.pipeline.plan import Plan

    monkeypatch.chdir(tmp_path)
    config = copy.deepcopy(BASE)
    for k, v in change.items():
        config[k] = dict(config.get(k, {}), **v) if isinstance(v, dict) else v
    validate(config, str(Path(__file__).parent.parent / "workflow" / "schemas" / "config.schema.yaml"))
    with pytest.raises(ValueError) as e:
        Plan(config)
    assert key in str(e.value) and "config key" in str(e.value), str(e.value)
    assert len(str(e.value).splitlines()) == 1 and not any(tmp_path.iterdir())


def _numeric_fields(node=None, path=()):
    """Every number the config schema holds: (path, its schema), a list item as ``[]``."""
    import yaml
    from test_structure import ROOT

    if node is None:
        node = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    types = node.get("type")
    types = [types] if isinstance(types, str) else types or []
    if {"number", "integer"} & set(types):
        yield path, node
    for key, sub in (node.get("properties") or {}).items():
        yield from _numeric_fields(sub, (*path, key))
    if isinstance(node.get("items"), dict):
        yield from _numeric_fields(node["items"], (*path, "[]"))


def _bad_values(schema):
    yield float("nan")
    yield float("inf")
    yield float("-inf")
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    if low is not None:
        yield low - 1 if "minimum" in schema else low
    if schema.get("maximum") is not None:
        yield schema["maximum"] + 1


def _put(node, path: list, value) -> None:
    """``value`` at ``path`` ("[]": a list's first item, a list of one where it ends there)."""
    key, rest = path[0], path[1:]
    if rest == ["[]"]:
        node[key] = [value]
    elif not rest:
        node[key] = value
    elif rest[0] == "[]":
        _put(node[key][0], rest[1:], value)
    else:
        _put(node.setdefault(key, {}), rest, value)


NUMERIC = [(p, v) for p, schema in _numeric_fields() for v in _bad_values(schema)]


@pytest.mark.parametrize("path,value", NUMERIC, ids=[f"{'.'.join(p)}={v}" for p, v in NUMERIC])
def test_every_numeric_config_field_refuses_nan_inf_and_out_of_range(tmp_path, monkeypatch, path, value):
    """Walks every number of the schema: NaN, infinities and a value out of range each stop the config
    check (the schema, then the plan: what `snakemake -n` runs) with one line naming the key."""
    import copy
    from pathlib import Path

    from snakemake.exceptions import WorkflowError

    from sdo_bench.pipeline.plan import Plan, validate

    monkeypatch.chdir(tmp_path)
    config = copy.deepcopy(BASE)
    _put(config, list(path), value)
    schema = str(Path(__file__).parent.parent / "workflow" / "schemas" / "config.schema.yaml")
    key = ".".join(p for p in path if p != "[]")
    with pytest.raises((ValueError, WorkflowError)) as e:
        validate(config, schema)
        Plan(config)
    text = str(e.value)
    assert len(text.splitlines()) == 1, text
    named = [p for p in path if p != "[]"]
    assert key in text or ".".join(named[-1:]) in text, text
