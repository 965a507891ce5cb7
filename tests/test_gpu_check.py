"""``sdo-bench gpu-check``: one prepared command that checks every prediction family on the card at
hand; in CI by CPU substitution on a tiny task; a time limit leaves a partial table; one line without
CUDA."""

import json

import pandas as pd
import pytest
import torch

from sdo_bench.cli.commands import main


def test_the_cpu_substitution_checks_every_tiny_family(tmp_path):
    from sdo_bench.cost import gpu_check

    result = gpu_check.run("cpu", tmp_path, methods=("sdo", "bptt"), iterations=1)
    assert result["checked"] == result["planned"] == 2 * len(gpu_check.TINY) == 8
    table = pd.read_csv(tmp_path / "gpu_check.csv")
    assert list(table.task) == [t for t, _ in gpu_check.TINY for _ in range(2)]
    assert list(table.variant) == ["sdo", "bptt"] * 4 and (table.check_status == "ok").all()
    assert (table.ratio_peak_tensor_bytes == 1.0).all()  # the tracker on real tensors: to the byte
    assert "GPU check on the CPU (substituted)" in (tmp_path / "gpu_check.md").read_text()
    assert json.loads((tmp_path / "gpu_check_overheads.json").read_text())["card"] == "cpu"


def test_a_time_limit_leaves_a_partial_table(tmp_path):
    from sdo_bench.cost import gpu_check

    gpu_check.run("cpu", tmp_path, time_limit_s=1e-9, methods=("sdo", "bptt"), tasks=["tiny-sd-latent"])
    table = pd.read_csv(tmp_path / "gpu_check.csv")
    assert len(table) == 2 and (table.check_status == "not run").all()
    assert table.check_error.str.contains("time limit").all()


def test_the_plan_runs_the_tiny_tasks_first_and_every_family():
    from sdo_bench.cost.gpu_check import PAPER, TINY, plan

    cuda = plan("cuda")
    assert [t for t, _, _ in cuda][: len(TINY) * 4] == [t for t, _ in TINY for _ in range(4)]
    families = {t.split("-")[0] for t, _, _ in cuda}
    assert {"sd15", "sdxl", "sd35", "flux", "tiny"} <= families and len(PAPER) == 6
    assert {t for t, _, _ in plan("cpu")} == {t for t, _ in TINY}


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without CUDA")
def test_without_cuda_it_refuses_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["gpu-check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs a CUDA device" in err[0] and "--device cpu" in err[0]
    assert not any(tmp_path.iterdir())
