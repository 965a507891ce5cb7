"""The command line's conventions: help on every flag with its default, --version, help on a bare call,
names checked before torch, --json, --strict, live metrics, and `compare` between two runs."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sdo_bench.cli.arguments import COMMANDS
from sdo_bench.cli.commands import main, parser

CLI = [sys.executable, "-m", "sdo_bench"]


def cli(*args, env=None, cwd=None):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_every_flag_has_help_and_shows_its_default(capsys):
    sub = next(a for a in parser()._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)
    for name, p in sub.choices.items():
        for action in p._actions:
            if action.dest == "help" or action.help == "==SUPPRESS==":
                continue
            assert action.help and action.help.strip(), f"{name} {action.option_strings or action.dest}"
        text = p.format_help().split("\noptions:", 1)[1]
        for action in p._actions:
            d = action.default
            if action.option_strings and d not in (None, [], False, "==SUPPRESS==") and action.dest != "help":
                flag = action.option_strings[0]
                block = text.split(f"\n  {flag}", 1)[1].split("\n  -", 1)[0]
                assert "default" in " ".join(block.split()), f"{name} {flag}: default {d!r} not shown"


def test_a_bare_call_prints_help_and_version_names_the_commit(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: sdo-bench" in out and "compare" in out and "run" in out
    p = cli("--version")
    assert p.returncode == 0, p.stderr
    words = p.stdout.split()
    assert words[0] == "sdo-bench" and "commit" in p.stdout
    commit = p.stdout.split("commit ", 1)[1].split()[0].rstrip(",)")
    assert len(commit) == 40 and all(c in "0123456789abcdef" for c in commit), p.stdout


def test_a_mistyped_task_or_method_is_refused_before_torch_is_imported(tmp_path):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    assert cli("list", env=env).returncode == 0  # the names, cached for these sources
    cases = [
        ["run", "--task", "gmm-latnet", "--method", "sdo", "--out", "r.json"],
        ["cost", "--task", "sd15-latent-hpsv", "--method", "bptt", "--steps", "4"],
        ["sweep", "--task", "gmm-latent", "--method", "sdoo", "--steps", "4", "--out", "a.json"],
    ]
    for argv in cases:
        p = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "sdo_bench", *argv],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        )  # fmt: skip
        assert p.returncode == 2, p.stderr[-500:]
        err = [line for line in p.stderr.splitlines() if not line.startswith("import time:")]
        assert len(err) == 1 and "unknown" in err[0], err
        assert " torch\n" not in p.stderr, "torch was imported before the name was checked"
    assert not list(tmp_path.glob("*.json"))


def test_list_json_holds_every_task_and_method_with_options(capsys):
    import sdo_bench

    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["tasks"]) == set(sdo_bench.tasks.names())
    assert set(data["methods"]) == set(sdo_bench.methods.names())
    assert data["methods"]["truncated"]["options"]["k"]["default"] is not None
    assert "steps" in data["tasks"]["gmm-latent"]["options"]


def test_strict_fails_the_shell_on_an_oom_run_and_json_reports_it(tmp_path, capsys):
    base = ["run", "--task", "gmm-latent", "--method", "bptt", "--steps", "4", "--iterations", "1",
            "--memory-budget-bytes", "1", "--seed", "0", "1"]  # fmt: skip
    outs = [str(tmp_path / "a.json"), str(tmp_path / "b.json")]
    assert main([*base, "--out", *outs]) == 0  # recorded as oom; not a failure of the command
    assert "2 of 2 runs did not finish" in capsys.readouterr().out
    assert main([*base, "--out", *outs, "--strict", "--json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert [(r["seed"], r["status"]) for r in rows] == [(0, "oom"), (1, "oom")]
    assert all(json.loads(Path(o).read_text())["status"] == "oom" for o in outs)
    ok = ["run", "--task", "gmm-latent", "--method", "sdo", "--steps", "4", "--iterations", "2", "--strict",
          "--json", "--out", str(tmp_path / "c.json")]  # fmt: skip
    assert main(ok) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (
        row["status"] == "ok"
        and row["reward_final"] == json.loads((tmp_path / "c.json").read_text())["reward_final"]
    )


def test_log_dir_writes_the_reward_curve_to_tensorboard(tmp_path, capsys):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out, logs = tmp_path / "r.json", tmp_path / "tb"
    argv = ["run", "--task", "digits-latent", "--method", "sdo", "--steps", "4", "--iterations", "3", "--set",
            "judge=false", "--set", "batch=2", "--out", str(out), "--log-dir", str(logs)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    rec = json.loads(out.read_text())
    acc = EventAccumulator(
        str(logs / "digits-latent" / "sdo" / "seed0"), size_guidance={"images": 0}
    ).Reload()
    reward = acc.Scalars("reward")
    assert [e.step for e in reward] == [0, 1, 2]
    assert [e.value for e in reward] == pytest.approx(rec["reward_curve"][:3], rel=1e-6)
    objective = [e.value for e in acc.Scalars("objective")]  # the norm prior: objective < reward
    assert len(objective) == 3 and all(o < r for o, r in zip(objective, [e.value for e in reward]))
    assert all(e.value > 0 for e in acc.Scalars("grad_norm"))
    assert set(acc.Tags()["images"]) == {"samples/initial", "samples/final"}


def _records(folder: Path, argv: list[str]):
    """A results folder as the workflow lays it out: raw/<task>/<variant>/seed<s>.json."""
    variants = json.loads(argv[argv.index("--variants") + 1])
    labels = [v.get("label") or v["method"] for v in variants]
    outs = [str(folder / "raw" / "gmm-weights" / lab / f"seed{s}.json") for lab in labels for s in (0, 1)]
    for o in outs:
        Path(o).parent.mkdir(parents=True, exist_ok=True)
    p = cli(*argv, "--seed", "0", "1", "--out", *outs)
    assert p.returncode == 0, p.stderr[-2000:]


def test_compare_two_runs_of_the_same_code_and_one_with_a_method_changed(tmp_path, capsys):
    same = '[{"method":"bptt"},{"method":"truncated","options":{"k":1},"label":"truncated-k=1"}]'
    changed = '[{"method":"bptt"},{"method":"truncated","options":{"k":2},"label":"truncated-k=1"}]'
    base = ["run", "--task", "gmm-weights", "--steps", "6", "--iterations", "3", "--variants"]
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    _records(a, [*base, same])
    _records(b, [*base, same])
    _records(c, [*base, changed])
    # two runs of the same code: deterministic figures equal, rewards equal, exit 0 (time: no tolerance
    # a shared test machine would keep; the time rule has its own test in test_regress)
    loose = ["--tolerance", "1e6"]
    assert main(["compare", str(a), str(b), *loose, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["ok"] and not [r for r in res["moved"] if r["figure"] != "time_per_iter_s"]
    assert {r["case"] for r in res["cases"]} == {"gmm-weights/bptt", "gmm-weights/truncated-k=1"}
    assert res["a"]["commit"] == res["b"]["commit"] and len(res["a"]["commit"]) == 1
    row = next(r for r in res["cases"] if r["case"] == "gmm-weights/bptt")
    assert row["reward_final B-A"] == 0 and row["peak_tensor_MiB B/A"] == 1
    # one method changed under the same label: its deterministic figures moved, exit 1, named
    assert main(["compare", str(a), str(c), *loose]) == 1
    out = capsys.readouterr().out
    moved = [line for line in out.splitlines() if "FAIL" in line and "truncated-k=1" in line]
    assert any("graph_bytes" in line or "nfe_backward" in line for line in moved), out
    assert not any("gmm-weights/bptt" in line and "FAIL" in line for line in out.splitlines()), out
    assert out.rstrip().splitlines()[-1].startswith("compare: FAIL")
    # a records file on one side, a folder on the other; a case missing from B fails
    one = tmp_path / "one.json"
    shutil.copy(a / "raw" / "gmm-weights" / "bptt" / "seed0.json", one)
    assert main(["compare", str(a), str(one), *loose]) == 1
    assert "FAIL: missing: gmm-weights/truncated-k=1 seed 0 is in A but not in B" in capsys.readouterr().out


def test_the_tables_carry_the_commit_and_device_they_came_from(tmp_path):
    from sdo_bench.report.load import load_records
    from sdo_bench.report.tables import write_tables

    argv = ["run", "--task", "gmm-weights", "--steps", "4", "--iterations", "1"]
    argv += ["--variants", '[{"method":"bptt"}]']
    _records(tmp_path / "a", argv)
    files = sorted((tmp_path / "a").rglob("*.json"))
    rec = json.loads(files[0].read_text())["provenance"]
    table = write_tables(load_records(files), tmp_path / "t")
    assert set(table.git_commit) == {rec["git_commit"]} and set(table.device) == {rec["device_name"]}
    for name in ("main.md", "claims.md"):
        last = (tmp_path / "t" / name).read_text().strip().splitlines()[-1]
        assert f"From commit {rec['git_commit'][:12]} on {rec['device_name']}" in last, last
