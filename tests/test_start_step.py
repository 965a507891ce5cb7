"""The authors' regime (issue: a fair race): ``start_step: s`` runs the first s steps once, under
no_grad, and optimizes x_s; every method runs the remaining N - s steps."""

import pytest
import torch
from _helpers import rel_err

import sdo_bench
from sdo_bench.methods import build

SMALL = dict(batch=2, judge=False)


def test_every_method_runs_the_tail_and_bptt_makes_five_calls():
    task = sdo_bench.tasks.build("digits-latent", steps=50, start_step=45, **SMALL)
    assert task.steps == 5 and task.sampler.total_steps == 50 and task.sampler.start_step == 45
    expected = {"bptt": (5, 5), "checkpoint": (10, 5), "adjoint": (10, 5), "sdo": (5, 1)}
    for name in sdo_bench.methods.names():
        res = build(name).gradient(task)
        assert res.status in ("ok", "not_applicable"), name
        if name in expected:
            assert res.status == "ok" and (res.nfe_forward, res.nfe_backward) == expected[name], name


def test_the_regime_does_not_change_the_sample_and_exact_methods_agree():
    full = sdo_bench.tasks.build("gmm-latent", steps=20, dtype="float64")
    tail = sdo_bench.tasks.build("gmm-latent", steps=20, start_step=15, dtype="float64")
    assert torch.allclose(full.sample(), tail.sample(), rtol=0, atol=1e-12)
    assert tail.parameters()[0].shape == full.parameters()[0].shape
    exact = build("bptt").gradient(tail)
    assert rel_err(build("checkpoint").gradient(tail).grads, exact.grads) < 1e-12
    assert rel_err(build("sdo", keep=5).gradient(tail).grads, exact.grads) < 1e-12


@pytest.mark.parametrize(
    "name,overrides,needle",
    [
        ("gmm-weights", {"steps": 10, "start_step": 5}, "latent tasks only"),
        ("gmm-latent", {"steps": 10, "start_step": 10}, "start_step"),
    ],
)
def test_bad_start_step_is_a_clear_error(name, overrides, needle):
    with pytest.raises(ValueError, match=needle):
        sdo_bench.tasks.build(name, **overrides)


def test_record_carries_the_start_step(tmp_path):
    from sdo_bench.experiment import runner as experiment
    from sdo_bench.methods import Variant
    from sdo_bench.records import io as records

    rec = experiment.run(
        sdo_bench.tasks.build("gmm-latent", steps=20, start_step=15, iterations=2), Variant("sdo")
    )
    records.validate(rec)
    assert rec["start_step"] == 15 and rec["steps"] == 5 and rec["nfe_forward"] == 5
