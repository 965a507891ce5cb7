"""``sdo-bench cost --check``: predictions beside real runs with random weights (on the CPU here, by
substituting the device), the CUDA overhead table, the workflow's cost_check rules."""

import json

import pytest
import torch

from sdo_bench.cli.commands import main
from sdo_bench.cost import cards
from sdo_bench.cost import check as cost_check
from sdo_bench.cost import predict as cost
from sdo_bench.spec.variant import Variant

FOUR = [Variant("bptt"), Variant("checkpoint"), Variant("sdo"), Variant("adjoint")]


def _checked(task, variants, steps, **kw):
    return cost.run(task, None, {}, steps, variants=variants, check_device="cpu", **kw)


@pytest.mark.parametrize(
    "task,settings",
    [("tiny-sd-latent", {}), ("digits-latent", {"judge": False}), ("digits-weights", {"judge": False})],
)
def test_check_on_the_cpu_measures_what_was_predicted(task, settings):
    """The same code with random weights on real CPU tensors: peak tensor bytes within the 3% the
    validation tests allow (to the byte on tiny-sd), FLOPs exactly, for all four methods including the
    adjoint; the rows carry every field of a prediction plus the measured ones."""
    rows = _checked(task, FOUR, [3], dtype="float32", batch=2, settings=settings, check_iterations=0)
    plain = cost.predict(task, Variant("sdo"), 3, dtype="float32", batch=2, settings=settings)
    assert [r["variant"] for r in rows] == ["bptt", "checkpoint", "sdo", "adjoint"]
    for r in rows:
        assert r["status"] == "ok" and r["check_status"] == "ok", (r["variant"], r["error"], r["check_error"])
        assert set(plain) | set(cost_check.MEASURED) == set(r), set(r) ^ (
            set(plain) | set(cost_check.MEASURED)
        )
        assert r["checked_on"] == "cpu" and r["kind"] == "predicted"
        assert abs(r["ratio_peak_tensor_bytes"] - 1) <= 0.03, (r["variant"], r["ratio_peak_tensor_bytes"])
        assert r["measured_flops_forward"] == r["flops_forward"], r["variant"]
        assert r["measured_flops_backward"] == r["flops_backward"], r["variant"]
        # no allocator on the CPU: those fields are empty, not guessed
        assert r["measured_max_reserved_bytes"] is None and r["ratio_max_reserved"] is None
        if task.startswith("tiny-sd"):
            assert r["measured_peak_tensor_bytes"] == r["peak_tensor_bytes"], r["variant"]


def test_timed_iterations_give_a_time_and_the_terminal_table_shows_both_halves():
    from sdo_bench.report.cost import format_rows

    rows = cost.run("gmm-latent", "sdo", {}, [4], dtype="float32", check_device="cpu", check_iterations=2)
    text = format_rows(rows, checked=True)
    head, measured = text.split("\n\nmeasured (--check")
    assert head.startswith("predicted") and "gmm-latent" in measured and "s_per_iteration" in measured
    (row,) = _checked("gmm-latent", [Variant("sdo")], [4], dtype="float32", check_iterations=2)
    assert row["measured_time_per_iteration_s"] > 0 and row["ratio_time"] is None  # a CPU is no listed card


def test_an_out_of_memory_run_is_a_row_and_the_others_go_on(monkeypatch):
    real = cost_check.measure_gradient

    def measure(task, method, **kw):
        if method.name == "bptt":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(task, method, **kw)

    monkeypatch.setattr(cost_check, "measure_gradient", measure)
    rows = _checked(
        "gmm-latent", [Variant("bptt"), Variant("sdo")], [3, 5], dtype="float32", check_iterations=0
    )
    by = {(r["variant"], r["steps"]): r for r in rows}
    for n in (3, 5):
        assert by["bptt", n]["check_status"] == "oom"
        assert by["bptt", n]["check_error"].startswith(f"oom at N = {n}: OutOfMemoryError")
        assert by["bptt", n]["status"] == "ok"  # the prediction stands
        assert by["sdo", n]["check_status"] == "ok"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_without_cuda_check_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "rows.json"
    code = main(
        ["cost", "--task", "tiny-sd-latent", "--method", "sdo", "--steps", "2", "--check", "--out", str(out)]
    )
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "CUDA" in err and "--check-device cpu" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--check", "--check-device", "tpu"], "valid choices: cuda, cuda:N, cpu"),
        (["--check-device", "cpu"], "add --check"),
        (["--check", "--check-device", "cpu", "--check-iterations", "-1"], "--check-iterations"),
    ],
)
def test_check_bad_input_is_one_line(capsys, args, needle):
    try:
        code = main(["cost", "--task", "gmm-latent", "--method", "sdo", "--steps", "2", *args])
    except SystemExit as e:  # argparse's own checks (a flag's type) exit too, with one line
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err


@pytest.mark.parametrize(
    "name,card",
    [
        ("NVIDIA H100 80GB HBM3", "H100 80GB"),
        ("NVIDIA A100-SXM4-80GB", "A100 80GB"),
        ("NVIDIA A100-SXM4-40GB", "A100 40GB"),
        ("NVIDIA GeForce RTX 4090", "RTX 4090"),
        ("NVIDIA L4", "L4"),
        ("NVIDIA H200", None),
        ("NVIDIA L40S", None),
    ],
)
def test_a_cuda_device_name_maps_to_its_card(name, card):
    assert cards.card_of(name, cards.GPUS) == card


def test_a_measured_overhead_replaces_the_rule_of_thumb(monkeypatch):
    memory = cards.GPUS["L4"][0]
    row = {"peak_tensor_bytes": memory - 2**29, "flops_forward": 1, "flops_backward": 1, "nfe_forward": 1,
           "nfe_backward": 0, "network_bytes": 1}  # fmt: skip
    before = cost._on_gpus(row, "float16")["L4"]
    assert not before["fits"] and before["reserve_bytes"] == 2**30 and "rule of thumb" in before["reserve"]
    monkeypatch.setattr(cards, "measured", lambda: {"L4": {"overhead_bytes": 2**28, "source": "a check"}})
    after = cost._on_gpus(row, "float16")
    assert after["L4"]["fits"] and after["L4"]["reserve"] == "measured: a check"
    assert after["RTX 4090"]["reserve_bytes"] == 2**30  # other cards keep theirs


def test_the_shipped_overhead_table_says_where_each_figure_came_from():
    table = json.loads(cards.TABLE.read_text())
    assert table["_about"]
    for card, entry in table["cards"].items():
        assert card in cards.GPUS, card
        assert isinstance(entry["overhead_bytes"], int) and entry["overhead_bytes"] >= 0
        assert len(entry["source"]) > 20, card


def test_cost_table_has_a_checked_on_column_for_the_rows_checked(tmp_path):
    import pandas as pd

    from sdo_bench.report import cost as report_cost
    from sdo_bench.report import cost_check as report_check

    v = [Variant("bptt"), Variant("sdo")]
    predicted, checked = tmp_path / "p", tmp_path / "c"
    cost.run(
        "gmm-latent", None, {}, [3, 5], variants=v, dtype="float32", out=[f"{predicted}{i}" for i in range(2)]
    )
    outs = [f"{checked}{i}" for i in range(2)]
    cost.run(
        "gmm-latent",
        None,
        {},
        [3],
        variants=v,
        dtype="float32",
        out=outs,
        check_device="cpu",
        check_iterations=0,
    )
    rows = report_cost.load_rows([f"{predicted}{i}" for i in range(2)])
    checks = report_cost.load_rows([f"{checked}{i}" for i in range(2)])
    report_cost.write(rows, tmp_path, checks)
    report_check.write(checks, tmp_path)
    table = pd.read_csv(tmp_path / "cost.csv").set_index(["method", "N"])
    assert table.loc[("bptt", 3), "checked_on"] == "cpu (x1.000)"
    assert table.loc[("sdo", 3), "checked_on"] == "cpu (x1.000)"
    assert table.checked_on[[("bptt", 5), ("sdo", 5)]].isna().all()
    check = pd.read_csv(tmp_path / "cost_check.csv")
    assert sorted(check.method) == ["bptt", "sdo"] and (check["tracker/predicted"] == 1).all()
    assert "measured_max_reserved" not in check.columns  # no allocator columns from a CPU check
    assert "Checked by `sdo-bench cost --check`" in (tmp_path / "cost_check.md").read_text()


def test_the_workflow_plans_checks_only_where_the_config_switches_them_on():
    from test_workflow import _plan

    Plan, config = _plan("config/ci.yaml")
    plan = Plan(config)
    assert plan.cost_check_records() == [
        f"results/cost_check/tiny-sd-latent/{m}/float32.json" for m in ("bptt", "checkpoint", "sdo")
    ]
    args = plan.cost_args("tiny-sd-latent", "float32", check=True)
    assert "--check --check-device cpu --check-iterations 1" in args and "--steps 2 --dtype" in args
    assert "results/tables/cost_check.md" in plan.all_outputs()
    Plan, config = _plan()
    assert Plan(config).cost_check_records() == [] and "cost_check" not in " ".join(
        Plan(config).all_outputs()
    )


def test_the_check_tables_take_an_oom_and_a_failed_prediction():
    """A check that ran out of memory and one whose prediction failed (no predicted peak) still make
    their rows: the status says why, and the cost table names the card without a ratio."""
    import pandas as pd

    from sdo_bench.report.cost_check import check_table, with_checked_on

    card = "NVIDIA H100 80GB HBM3"
    common = {"task": "t", "steps": 3, "dtype": "float16", "status": "error", "checked_on": card}
    rows = [
        dict(common, variant="bptt", check_status="oom", check_error="oom at N = 3: OutOfMemoryError"),
        dict(common, variant="sdo", check_status="ok", measured_max_reserved_bytes=6 * 2**30),
    ]
    t = check_table(pd.DataFrame(rows)).set_index("method")
    assert (
        t.loc["bptt", "status"] == "oom at N = 3: OutOfMemoryError" and t.loc["sdo", "max_reserved_GiB"] == 6
    )
    cost = pd.DataFrame(
        {"task": ["t", "t"], "method": ["bptt", "sdo"], "N": [3, 3], "dtype": ["float16"] * 2}
    )
    labelled = with_checked_on(cost, pd.DataFrame(rows)).set_index("method").checked_on
    assert labelled["bptt"] == f"{card} (oom)" and labelled["sdo"] == card
