"""The parameter targets' regularizers (kl, pretrain) against finite differences in float64, the same
regularizer gradient for every method, and the records keeping reward, regularizer and objective apart;
the variants that are one algorithm by construction; the intervals and the non-inferiority verdict."""

import math

import numpy as np
import pytest
import torch

import sdo_bench
from sdo_bench.experiment import runner as experiment
from sdo_bench.methods import build
from sdo_bench.report.stats import interval
from sdo_bench.report.tables import _reward_verdict
from sdo_bench.spec.variant import Variant

DIGITS = dict(batch=2, judge=False, steps=3)


def _task(name, regularizer, weight=2.0, **kw):
    kw = {**(DIGITS if name.startswith("digits") else {"steps": 6}), **kw}
    return sdo_bench.tasks.build(
        name, dtype="float64", regularizer=regularizer, regularizer_weight=weight, **kw
    )


def _perturb(task, seed=0):
    """Move the parameters off their start (R = 0 there for kl, where its gradient vanishes too)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in task.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g, dtype=p.dtype))


@pytest.mark.parametrize("name", ["gmm-weights", "digits-condition", "digits-lora"])
@pytest.mark.parametrize("regularizer", ["kl", "pretrain"])
def test_regularizer_gradient_matches_finite_differences(name, regularizer):
    task = _task(name, regularizer)
    _perturb(task)
    grads = task.penalty_gradient()
    params = task.parameters()
    g = torch.Generator().manual_seed(1)
    direction = [torch.randn(p.shape, generator=g, dtype=p.dtype) for p in params]
    analytic = sum(float((gi * d).sum()) for gi, d in zip(grads, direction))
    h = 1e-5
    reg = task._regularizer
    # kl: the states are constants of R (DPOK's stop-gradient), held at the current trajectory
    # pretrain: the minibatch the gradient was taken on (the stream's first)
    fixed = {"states": reg._states(task)} if regularizer == "kl" else {"minibatch": 0}

    def J(sign):
        with torch.no_grad():
            for p, d in zip(params, direction):
                p.add_(sign * h * d)
        value = -task.regularizer_weight * reg.value_and_gradient(task, grad=False, **fixed)[0]
        with torch.no_grad():
            for p, d in zip(params, direction):
                p.sub_(sign * h * d)
        return value

    numeric = (J(1) - J(-1)) / (2 * h)
    assert task.regularization() > 0
    assert abs(analytic - numeric) <= 1e-6 * max(1.0, abs(numeric)), (analytic, numeric)


@pytest.mark.parametrize("regularizer", ["kl", "pretrain"])
def test_one_batched_call_equals_the_loop_over_steps(regularizer):
    task = _task("digits-condition", regularizer, steps=4)
    task.batched_timesteps = False  # the same regularizer, built for a network that takes one t
    looped = type(task._regularizer)(task)
    task.batched_timesteps = True
    _perturb(task)
    value, grads = task._regularizer.value_and_gradient(task)
    task.batched_timesteps = False
    value_loop, grads_loop = looped.value_and_gradient(task)
    assert value == pytest.approx(value_loop, rel=1e-10)
    assert all(torch.allclose(a, b, rtol=1e-8, atol=1e-14) for a, b in zip(grads, grads_loop))


def test_kl_on_a_guided_condition_equals_the_difference_of_the_guided_eps():
    # the condition target under guidance: the KL evaluates the conditional half only (the null
    # half is the same under both parameter values); the reference takes the whole guided ε
    task = _task("digits-condition", "kl", steps=4)
    assert task.guidance_scale != 1.0 and task.uncondition is not None
    _perturb(task)
    reg = task._regularizer
    states = reg._states(task)
    value, grads = reg.value_and_gradient(task, states=states)
    (emb,) = task.parameters()
    with torch.no_grad():
        current = emb.detach().clone()
        emb.copy_(reg.base[0])
        base = [task.eps(x, k) for k, x in enumerate(states)]
        emb.copy_(current)
    ref = sum(((task.eps(x, k) - e0) ** 2).mean() for k, (x, e0) in enumerate(zip(states, base)))
    ref = ref / len(states)
    (ref_grad,) = torch.autograd.grad(ref, [emb])
    assert value == pytest.approx(float(ref), rel=1e-10)
    assert torch.allclose(grads[0], ref_grad, rtol=1e-8, atol=1e-14)
    # the base and the parameter-graph calls take the conditional batch, not the guided double one
    sizes = []
    hook = task.network.register_forward_pre_hook(lambda m, args: sizes.append(len(args[0])))
    reg.value_and_gradient(task, states=states)
    hook.remove()
    assert sizes == [task.batch * len(states)] * 2, sizes


def test_kl_is_zero_at_the_base_and_pretrain_is_the_training_loss():
    task = _task("gmm-weights", "kl")
    assert task.regularization() == 0.0
    assert all(float(g.abs().max()) == 0.0 for g in task.penalty_gradient())
    task = _task("gmm-weights", "pretrain")
    # the analytic GMM is the exact denoiser of its mixture: its training loss is that of the optimum,
    # and moving the means away from the data raises it
    before = task.regularization()
    _perturb(task)
    assert task.regularization() > before


def test_the_regularizer_gradient_is_the_same_for_every_method():
    """Added outside the method: at the same parameters every method gets the same one."""
    seen = {}
    for method in ("bptt", "sdo", "truncated"):
        task = _task("gmm-weights", "pretrain", weight=5.0, iterations=1, optimizer="sgd")
        original = task.penalty_gradient
        calls = []
        task.penalty_gradient = lambda original=original, calls=calls: calls.append(original()) or calls[-1]
        rec = experiment.run(task, Variant(method), progress=False, fidelity=False)
        assert rec["status"] == "ok" and len(calls) == 1
        seen[method] = calls[0]
        # the record keeps reward, regularizer and objective apart
        # shifted to 0 at the start (the rise of the pretraining loss); moved by the update
        assert rec["regularizer_init"] == pytest.approx(0.0, abs=1e-12) and rec["regularizer_final"] != 0
        assert rec["objective_final"] == pytest.approx(rec["reward_final"] - 5.0 * rec["regularizer_final"])
        assert rec["time_penalty_s"] >= 0
    for a, b in zip(seen["bptt"], seen["sdo"]):
        assert torch.equal(a, b)
    for a, b in zip(seen["bptt"], seen["truncated"]):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "overrides,message",
    [
        (dict(regularizer="kl"), "latent"),
        (dict(regularizer="nope"), "valid choices: none, kl, pretrain"),
        (dict(regularizer="kl", regularizer_weight=-1.0), "regularizer_weight"),
        (dict(regularizer="kl", regularizer_weight=math.nan), "regularizer_weight"),
    ],
)
def test_bad_regularizer_settings_name_the_key(overrides, message):
    with pytest.raises(ValueError, match=message):
        sdo_bench.tasks.settings_for("gmm-latent" if "latent" == message else "gmm-weights", **overrides)


def test_pretrain_needs_training_data():
    with pytest.raises(ValueError, match="training data"):
        sdo_bench.tasks.build("tiny-sd-lora", regularizer="pretrain", steps=2)


# -- one algorithm, two names ---------------------------------------------------------------------------
def test_sdo_at_the_last_step_is_truncated_k1_on_parameter_targets():
    task = sdo_bench.tasks.build("gmm-weights", steps=8, dtype="float64")
    a, b = build("sdo", step="last"), build("truncated", k=1)
    ga, gb = a.gradient(task), b.gradient(task)
    assert all(torch.allclose(x, y, rtol=1e-12, atol=0) for x, y in zip(ga.grads, gb.grads))
    assert a.algorithm(task) == b.algorithm(task) == "truncated-k=1"
    latent = sdo_bench.tasks.build("gmm-latent", steps=8)
    assert a.algorithm(latent) != b.algorithm(latent)  # on x_T, truncated-k=1 gives no gradient at all


def test_checkpoint_is_bptt_and_drtune_runs_the_papers_k():
    task = sdo_bench.tasks.build("gmm-weights", steps=20, dtype="float64")
    assert build("checkpoint").algorithm(task) == build("bptt").algorithm(task) == "bptt"
    assert build("checkpoint").kind_on(task) == "exact"
    assert build("truncated", k=20).kind_on(task) == "exact"
    drtune = build("drtune")
    res = drtune.gradient(task)
    assert len(res.info["kept"]) == 5 == res.nfe_backward  # the paper's K = 5, spread over N = 20
    assert drtune.algorithm(task) not in {
        build("sdo").algorithm(task),
        build("sdo", step="last").algorithm(task),
    }
    assert build("drtune", k=1, step=3).algorithm(task) == build("sdo", step=3).algorithm(task)
    # k = 1 with a random step: the same draw from the same stream as sdo's default on parameters
    a, b = build("drtune", k=1), build("sdo")
    assert a.algorithm(task) == b.algorithm(task)
    for _ in range(3):
        ga, gb = a.gradient(task), b.gradient(task)
        assert ga.info["kept"] == [gb.info["step"]]
        assert all(torch.allclose(x, y, rtol=1e-12, atol=0) for x, y in zip(ga.grads, gb.grads))


def test_the_table_marks_rows_that_are_one_algorithm(tmp_path):
    from sdo_bench.report.load import load_records
    from sdo_bench.report.tables import formatted, main_table

    paths = []
    for v in (
        Variant("bptt"),
        Variant("checkpoint"),
        Variant("sdo", {"step": "last"}),
        Variant("truncated", {"k": 1}),
    ):
        task = sdo_bench.tasks.build("gmm-weights", steps=4, iterations=1)
        out = tmp_path / f"{v.label}.json"
        experiment.run(task, v, out=out, progress=False, fidelity=False)
        paths.append(out)
    shown = formatted(main_table(load_records(paths))).set_index("method")
    assert "checkpoint (= bptt)" in shown.index
    assert "truncated-k=1 (= sdo-step=last)" in shown.index
    assert "bptt" in shown.index and "sdo-step=last" in shown.index


# -- intervals and verdicts -------------------------------------------------------------------------------
def test_t_interval_for_few_seeds_and_bca_for_many():
    m, lo, hi = interval([1.0, 2.0, 3.0])
    # mean 2, s = 1, t_{0.975, 2} = 4.303: half-width 4.303 / sqrt(3)
    assert m == 2.0 and hi - m == pytest.approx(4.302652729911275 / math.sqrt(3))
    assert interval([5.0])[1] != interval([5.0])[1]  # nan: one seed has no interval
    assert interval([1.0, 3.0])[1] != interval([1.0, 3.0])[1]  # nor two
    assert interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    x = np.random.default_rng(0).normal(1.0, 0.5, size=30)
    m, lo, hi = interval(x)
    assert lo < m < hi and lo > 0.5 and hi < 1.5


@pytest.mark.parametrize(
    "ci,margin,verdict",
    [
        ((0.2, 0.1, 0.3), 0.05, "supported (better)"),
        ((-0.01, -0.04, 0.02), 0.05, "supported (non-inferior)"),
        ((-0.01, -0.04, 0.02), 0.01, "not shown"),
        ((-0.3, -0.4, -0.2), 0.05, "not supported (worse)"),
    ],
)
def test_reward_claim_is_judged_against_the_margin(ci, margin, verdict):
    assert _reward_verdict(*ci, margin).startswith(verdict)


def test_methods_that_cannot_reach_x_T_say_so_and_are_not_applicable():
    """applies_to (what the workflow plans) agrees with what the gradient returns."""
    latent = sdo_bench.tasks.build("gmm-latent", steps=4)
    weights = sdo_bench.tasks.build("gmm-weights", steps=4)
    from sdo_bench.methods import REGISTRY

    for name, cls in REGISTRY.items():
        method = cls()
        for task in (latent, weights):
            res = method.gradient(task)
            assert (res.status == "ok") == method.applies_to(task.target), (name, task.target)


def test_pretrain_takes_a_fresh_minibatch_each_gradient_and_reports_on_one_it_never_sees():
    """Forgetting, not memorizing: each gradient's minibatch is new (the same stream for every method and
    seed), and the reported value comes from an evaluation batch no gradient is taken on."""
    a = _task("digits-weights", "pretrain", seed=0)._regularizer
    b = _task("digits-weights", "pretrain", seed=3)._regularizer
    x0, n0 = a.minibatch(0)
    x1, _ = a.minibatch(1)
    assert (
        not torch.equal(x0, x1) and torch.equal(x0, b.minibatch(0)[0]) and torch.equal(n0, b.minibatch(0)[1])
    )
    seen = {tuple(r.flatten().tolist()) for r in a.train_x0}
    assert not any(tuple(r.flatten().tolist()) in seen for r in a.eval_x0)
    task = _task("digits-weights", "pretrain", seed=0)
    task.penalty_gradient()
    task.penalty_gradient()
    assert task._regularizer.calls == 2 and task.regularization() == pytest.approx(0.0, abs=1e-12)
