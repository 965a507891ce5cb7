"""``sdo-bench fit``: the largest N (and batch) that fits a card, from the cost model's exact line,
checked against ``cost`` at the boundary: at the reported N the prediction fits, at N + 1 it does not."""

import json

import pytest

from sdo_bench.cost import cards
from sdo_bench.cost.fit import fit
from sdo_bench.cost.predict import predict
from sdo_bench.spec.variant import Variant

TASK = dict(dtype="float32", batch=2)


def _fits(row: dict, card: str) -> bool:
    memory = cards.GPUS[card][0]
    return row["status"] == "ok" and row["peak_tensor_bytes"] + cards.reserve(card)[0] <= memory


@pytest.fixture
def small_card(monkeypatch):
    """A card that bptt on tiny-sd-latent fills after a few steps: its memory is the reserve plus the
    prediction at N = 6 and a half step."""
    at6 = predict("tiny-sd-latent", Variant("bptt"), 6, **TASK)["peak_tensor_bytes"]
    at7 = predict("tiny-sd-latent", Variant("bptt"), 7, **TASK)["peak_tensor_bytes"]
    memory = cards.RULE_OF_THUMB_BYTES + (at6 + at7) // 2
    monkeypatch.setitem(cards.GPUS, "test card", (memory, 1.0, 1.0, 1.0))
    monkeypatch.setattr(cards, "measured", lambda: {})
    return "test card"


def test_the_boundary_is_the_cost_models(small_card):
    found = fit("tiny-sd-latent", [Variant("bptt"), Variant("sdo")], cards=[small_card], **TASK)
    rows = {r["variant"]: r for r in found}
    n = rows["bptt"]["max_steps"]
    assert n == 6 and "exact line" in rows["bptt"]["rests_on"]
    assert _fits(predict("tiny-sd-latent", Variant("bptt"), n, **TASK), small_card)
    assert not _fits(predict("tiny-sd-latent", Variant("bptt"), n + 1, **TASK), small_card)
    assert rows["sdo"]["max_steps"] == "any"  # one step's graph: it fits at every N


def test_none_where_even_the_smallest_n_does_not_fit(monkeypatch):
    monkeypatch.setitem(cards.GPUS, "tiny card", (cards.RULE_OF_THUMB_BYTES + 1000, 1.0, 1.0, 1.0))
    monkeypatch.setattr(cards, "measured", lambda: {})
    (row,) = fit("tiny-sd-latent", [Variant("sdo")], cards=["tiny card"], **TASK)
    assert row["max_steps"] == "none"


def test_the_largest_batch_at_an_n(small_card):
    (row,) = fit("tiny-sd-latent", [Variant("bptt")], cards=[small_card], steps=4, **TASK)
    b = row["max_batch"]
    assert isinstance(b, int) and b >= 2
    at = lambda k: predict("tiny-sd-latent", Variant("bptt"), 4, dtype="float32", batch=k)  # noqa: E731
    assert _fits(at(b), small_card) and not _fits(at(b + 1), small_card)


def test_fit_on_the_command_line(capsys):
    from sdo_bench.cli.commands import main

    argv = ["fit", "--task", "gmm-latent", "--method", "bptt", "sdo", "--dtype", "float32", "--json"]
    assert main(argv + ["--card", "L4", "H100 80GB"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {(r["method"], r["card"]) for r in rows} == {
        (m, c) for m in ("bptt", "sdo") for c in ("L4", "H100 80GB")
    }
    assert all(r["max_steps"] == "any" or isinstance(r["max_steps"], int) for r in rows)
    assert main(argv + ["--card", "T4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown card 'T4'" in err[0] and "H100 80GB" in err[0]


@pytest.mark.parametrize(
    "task,key", [("sd14-latent-style", "start_step 45"), ("digits-latent-improve", "invert_steps 40")]
)
def test_fit_refuses_a_task_that_runs_a_fixed_tail_in_one_line(task, key):
    from sdo_bench.cost.fit import fit
    from sdo_bench.methods import Variant

    with pytest.raises(ValueError, match=key) as e:
        fit(task, [Variant("sdo")])
    assert "sdo-bench cost --task" in str(e.value) and len(str(e.value).splitlines()) == 1
