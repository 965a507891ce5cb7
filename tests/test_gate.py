"""The gate fails closed: ``compare`` on damaged, missing or duplicated records, the one record reader's
type checks, tables written as a set, progress that never fails its job, and the command line's last
line of defence (an ``OSError`` or a library's warning never turns into a traceback or a second line)."""

import json
import os
import shutil
import warnings
from pathlib import Path

import pytest

from sdo_bench.cli.commands import main
from sdo_bench.spec.job import RunJob
from sdo_bench.spec.variant import Variant


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A results folder: gmm-latent, bptt and sdo, seeds 0-2 (records under raw/)."""
    from sdo_bench.experiment import run_job

    root = tmp_path_factory.mktemp("A")
    variants, seeds = (Variant("bptt"), Variant("sdo")), (0, 1, 2)
    outs = []
    for v in variants:
        (root / "raw" / "gmm-latent" / v.label).mkdir(parents=True)
        outs += [str(root / "raw" / "gmm-latent" / v.label / f"seed{s}.json") for s in seeds]
    job = RunJob(task="gmm-latent", variants=variants, seeds=seeds, outs=tuple(outs),
                 settings={"steps": 4, "iterations": 2, "batch": 4}, fidelity=False)  # fmt: skip
    run_job(job)
    return root


def _copy(results, tmp_path, name="B"):
    dest = tmp_path / name
    shutil.copytree(results, dest)
    return dest


def _compare(capsys, a, b, *extra):
    code = main(["compare", str(a), str(b), *extra])
    out = capsys.readouterr().out
    return code, [line for line in out.splitlines() if line.startswith(("FAIL:", "warning:"))], out


def test_identical_folders_pass(results, tmp_path, capsys):
    code, problems, out = _compare(capsys, results, _copy(results, tmp_path))
    assert code == 0 and problems == [] and "compare: PASS" in out


def test_a_truncated_record_a_deleted_seed_and_a_fifo_each_fail_with_one_line(results, tmp_path, capsys):
    b = _copy(results, tmp_path)
    sdo = b / "raw" / "gmm-latent" / "sdo"
    (sdo / "seed0.json").write_text((sdo / "seed0.json").read_text()[:200])
    (b / "raw" / "gmm-latent" / "bptt" / "seed2.json").unlink()
    os.mkfifo(b / "raw" / "gmm-latent" / "pipe.json")
    (b / "raw" / "odd.json").mkdir()
    os.symlink("loop.json", b / "raw" / "loop.json")
    code, problems, out = _compare(capsys, results, b)
    assert code == 1 and "compare: FAIL" in out
    joined = "\n".join(problems)
    assert len(problems) == 6, joined  # four damaged entries; two seeds missing from B (0 of sdo, 2 of bptt)
    assert "sdo/seed0.json is not valid JSON" in joined and "pipe.json is not a regular file" in joined
    assert "odd.json is a folder" in joined and "loop.json" in joined
    assert "gmm-latent/bptt seed 2 is in A but not in B" in joined
    assert "gmm-latent/sdo seed 0 is in A but not in B" in joined
    # downgraded: warnings, and the figures compared on what both have
    code, problems, out = _compare(capsys, results, b, "--allow-incomplete")
    assert code == 0 and len(problems) == 6 and all(p.startswith("warning:") for p in problems)


def test_ratios_are_over_the_seeds_both_sides_have(results, tmp_path, capsys):
    """A seed only A has does not enter A's time mean: the time ratio is 1.000x on identical records."""
    from sdo_bench.compare.folders import compare

    b = _copy(results, tmp_path)
    (b / "raw" / "gmm-latent" / "bptt" / "seed0.json").unlink()
    r = compare(results, b, allow_incomplete=True)
    row = next(c for c in r["cases"] if c["case"] == "gmm-latent/bptt")
    assert row["seeds"] == 2 and row["time_per_iter_s B/A"] == pytest.approx(1.0)


def test_a_wrongly_typed_or_duplicated_record_fails(results, tmp_path, capsys):
    b = _copy(results, tmp_path)
    path = b / "raw" / "gmm-latent" / "sdo" / "seed1.json"
    path.write_text(json.dumps(dict(json.loads(path.read_text()), time_per_iter_s=5)))
    shutil.copy(b / "raw" / "gmm-latent" / "bptt" / "seed0.json", b / "raw" / "gmm-latent" / "copy.json")
    code, problems, _ = _compare(capsys, results, b)
    joined = "\n".join(problems)
    assert code == 1 and "seed1.json: time_per_iter_s" in joined
    assert "B holds gmm-latent/bptt seed 0 twice" in joined


def test_the_reader_names_file_and_field():
    from sdo_bench.records.io import check_record

    rec = json.loads((Path(__file__).parent / "data" / "record.json").read_text())
    changes = [
        ({"time_per_iter_s": [1, 2]}, "time_per_iter_s"),
        ({"reward_final": "high"}, "reward_final"),
        ({"seed": 1.5}, "seed"),
        ({"provenance": {}}, "git_commit"),
    ]
    for change, field in changes:
        with pytest.raises(ValueError, match=field) as e:
            check_record(dict(rec, **change), "r.json")
        assert "r.json" in str(e.value)
    check_record(rec, "r.json")


def test_tables_are_written_as_a_set(results, tmp_path, monkeypatch):
    """A failure while the tables are written leaves the folder's earlier tables as they were."""
    from sdo_bench import report
    from sdo_bench.report import tables

    records = sorted(str(p) for p in (results / "raw").rglob("*.json"))
    out = tmp_path / "tables"
    report.write("tables", records, [], out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = tables.write_tables

    def half(df, out_dir, *a, **k):
        real(df, out_dir, *a, **k)
        raise RuntimeError("stopped after writing")

    monkeypatch.setattr(tables, "write_tables", half)
    with pytest.raises(RuntimeError):
        report.write("tables", records[:2], [], out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_progress_never_fails_the_job(tmp_path, capsys):
    from sdo_bench.pipeline import progress

    plan = tmp_path / "progress.json"
    for damaged in ("{not json", "[1, 2]", '{"start": "x", "families": {}}', '{"start": 1, "families": [1]}'):
        plan.write_text(damaged)
        assert progress.line("runs", plan).startswith("runs: 0/0 records")
        assert "damaged" in capsys.readouterr().err
        assert json.loads(plan.read_text())["families"] == {}
    assert progress.state("runs", plan)["planned"] == 0


def test_an_oserror_or_a_warning_never_precedes_the_one_line(monkeypatch, capsys):
    from sdo_bench.cli import commands

    def broken(a):
        warnings.warn("a library's deprecation", DeprecationWarning, stacklevel=1)
        raise OSError(28, "No space left on device", "results/raw/x.json")

    monkeypatch.setitem(commands.HANDLERS, "list", broken)
    assert main(["list"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["sdo-bench: error: No space left on device: results/raw/x.json (while running `list`)"]

    def warns(a):
        warnings.warn("shown after a command that worked", UserWarning, stacklevel=1)
        return "done"

    monkeypatch.setitem(commands.HANDLERS, "list", warns)
    assert main(["list"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "done" and "shown after a command that worked" in captured.err


def test_a_corrupt_tiny_reward_names_the_rebuild_not_a_download(tmp_path):
    from sdo_bench.rewards import clip_models
    from sdo_bench.rewards.hpsv2 import load_hpsv2

    bad = tmp_path / "hps.pt"
    bad.write_bytes(b"not a checkpoint")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch.jit.load's deprecation is not shown
        with pytest.raises(ValueError) as e:
            load_hpsv2(bad, ["a"], key="reward_dir", model=clip_models.TINY)
    assert "build it again" in str(e.value) and "HPSv2" not in str(e.value).split(").")[-1]
