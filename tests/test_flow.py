"""The flow-matching sampler and the tiny SD3 / FLUX worlds: the sampler is diffusers', the suite's
no-grad samples are the pipelines', and every method's gradient on them against exact references."""

import json

import numpy as np
import pytest
import torch
from _helpers import applicable_results, central_difference, flat, offline, rel_err

import sdo_bench
from sdo_bench.sampling.flow import FlowMatchSampler, flux_mu

FLOW_TASKS = [f"tiny-{m}-{t}" for m in ("sd3", "flux") for t in ("latent", "condition", "lora")]
METHODS = ["bptt", "checkpoint", "truncated", "adjoint", "sdo", "drtune", "draft-lv", "refl"]


offline_cache = pytest.fixture(scope="module", autouse=True)(offline)


def build(name, steps=3, dtype="float64", **kw):
    return sdo_bench.tasks.build(name, steps=steps, dtype=dtype, **kw)


def grad(task, method, **options):
    return sdo_bench.methods.build(method, **options).gradient(task)


# -- the sampler is diffusers' FlowMatchEulerDiscreteScheduler ------------------------------------------
@pytest.mark.parametrize(
    "config, kw",
    [
        (dict(shift=3.0), {}),  # SD3
        (dict(shift=1.0), dict(flux_sigmas=True)),  # FLUX.1-schnell
        (dict(shift=3.0, use_dynamic_shifting=True), dict(flux_sigmas=True, mu=flux_mu(4096, {}))),  # dev
    ],
)
def test_flow_steps_equal_the_scheduler_step(config, kw):
    from diffusers import FlowMatchEulerDiscreteScheduler

    scheduler = FlowMatchEulerDiscreteScheduler(**config)
    sampler = FlowMatchSampler(scheduler, 7, **kw)
    ref = FlowMatchEulerDiscreteScheduler.from_config(scheduler.config)
    extra = dict(sigmas=list(np.linspace(1.0, 1 / 7, 7))) if kw.get("flux_sigmas") else {}
    ref.set_timesteps(7, **({"mu": kw["mu"]} if "mu" in kw else {}), **extra)
    assert sampler.timesteps == [float(t) for t in ref.timesteps]
    assert sampler.sigma[0] == 1.0 and sampler.sigma[-1] == 0.0
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 8, 8, generator=g)
    for k, t in enumerate(ref.timesteps):
        v = torch.randn(x.shape, generator=g)
        expected = ref.step(v, t, x, return_dict=False)[0]
        ours = sampler.step(k, x, v)
        assert torch.allclose(ours, expected, rtol=0, atol=1e-6), k
        x = expected


def test_flux_mu_is_the_pipelines_shift():
    from diffusers.pipelines.flux.pipeline_flux import calculate_shift

    for n in (64, 256, 1024, 4096):
        assert flux_mu(n, {}) == pytest.approx(calculate_shift(n), rel=1e-12)


# -- every method on every tiny flow task --------------------------------------------------------------
@pytest.mark.parametrize("name", FLOW_TASKS)
def test_every_method_on_the_flow_worlds(name):
    task = build(name)
    results = {m: grad(task, m) for m in METHODS}
    exact = results["bptt"].grads
    for m, res in applicable_results(task, results, sdo_bench.methods.build).items():
        assert [g.shape for g in res.grads] == [p.shape for p in task.parameters()], m
        assert all(torch.isfinite(g).all() for g in res.grads), m
        assert float(flat(res.grads).norm()) > 0, m
    assert rel_err(results["checkpoint"].grads, exact) < 1e-12
    assert rel_err(grad(task, "sdo", keep=task.steps).grads, exact) < 1e-12
    assert rel_err(grad(task, "truncated", k=task.steps).grads, exact) < 1e-12


@pytest.mark.parametrize("name", ["tiny-sd3-latent", "tiny-flux-lora"])
def test_adjoint_converges_to_the_exact_gradient_as_n_grows(name):
    errors = []
    for n in (2, 8, 32):
        task = build(name, steps=n)
        errors.append(rel_err(grad(task, "adjoint").grads, grad(task, "bptt").grads))
    print(f"\n{name}: adjoint relative error at N = 2, 8, 32: {errors}")
    assert errors[2] < errors[1] < errors[0]
    assert errors[2] < 0.1


def test_flow_pretrain_pair_is_the_rectified_flow_target():
    sampler = FlowMatchSampler(sdo_bench.tasks.build("tiny-sd3-latent", steps=2).sampler.scheduler, 4)
    x0, n = torch.randn(3, 2), torch.randn(3, 2)
    x_t, target = sampler.training_pair(x0, n, 250)
    assert torch.allclose(x_t, 0.75 * x0 + 0.25 * n) and torch.equal(target, n - x0)
    assert torch.allclose(sampler.predict_x0(0, sampler.noised(0, x0, n), n - x0), x0)


# -- the trained rectified flow of the digits ----------------------------------------------------------
DIGITS_FLOW = ["digits-flow-latent", "digits-flow-condition", "digits-flow-lora", "digits-flow-weights"]


@pytest.mark.parametrize("name", DIGITS_FLOW)
def test_every_method_on_the_trained_digits_flow(name):
    task = build(name, batch=2, judge=False)
    assert type(task.sampler).__name__ == "FlowMatchSampler" and task.model_name == "digits-flow"
    results = {m: grad(task, m) for m in METHODS}
    for m, res in applicable_results(task, results, sdo_bench.methods.build).items():
        assert all(torch.isfinite(g).all() for g in res.grads) and float(flat(res.grads).norm()) > 0, m
    exact = results["bptt"].grads
    assert rel_err(results["checkpoint"].grads, exact) < 1e-12
    assert rel_err(grad(task, "sdo", keep=task.steps).grads, exact) < 1e-12


def test_bptt_matches_finite_differences_on_the_digits_flow():
    task = build("digits-flow-latent", steps=2, batch=2, judge=False, prior="none")
    g = flat(grad(task, "bptt").grads)
    (x,) = task.parameters()
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(5), dtype=x.dtype)
    fd, analytic = central_difference(task, v, 1e-6), float(g @ flat([v]))
    assert abs(fd - analytic) < 1e-6 * abs(analytic), (fd, analytic)


def test_the_flow_pretrain_regularizer_is_the_rectified_flow_loss():
    """``pretrain`` on a flow task regresses the velocity n - x0 at x_σ = (1 - σ) x0 + σ n, so
    x_σ - σ · target gives back the training digits (the DDPM's pair would not)."""
    task = build("digits-flow-lora", batch=2, judge=False, regularizer="pretrain")
    reg = task._regularizer
    x0, noise = reg.minibatch(0)
    x_t, t, target = reg._batches(task, x0, noise)[0]
    sigma = (t if torch.is_tensor(t) else torch.tensor(float(t))).reshape(-1, 1, 1, 1) / 1000
    recovered = x_t - sigma * target
    assert torch.allclose(recovered, x0[: len(x_t)], atol=1e-10)


def test_train_model_with_the_flow_objective_writes_a_loadable_flow_unet(tmp_path):
    from sdo_bench.tasks.digits.model import load_unet, train_summary

    line = train_summary(tmp_path, steps=2, batch=4, objective="flow")
    assert "trained digits flow UNet" in line
    assert json.loads((tmp_path / "flow_unet" / "training.json").read_text())["objective"] == "flow"
    assert load_unet(tmp_path / "flow_unet").config.sample_size == 16  # the 8×8 digits upsampled


def test_missing_flow_weights_name_the_flow_training_command(tmp_path):
    from sdo_bench.weights import WeightsError

    with pytest.raises(WeightsError, match="--objective flow"):
        build("digits-flow-latent", weights_dir=str(tmp_path), judge=False)


def test_the_flow_models_quality_is_judged_like_the_ddpms(tmp_path):
    from sdo_bench.tasks.digits.model_quality import evaluate
    from sdo_bench.weights import ASSETS

    result = evaluate(ASSETS / "digits", tmp_path / "q.json", n=100, steps=20, objective="flow")
    print(f"\nflow digits: judged as their class {result['samples_judged_as_their_class']:.3f}")
    assert result["objective"] == "flow"
    assert result["samples_judged_as_their_class"] > 0.8
    assert json.loads((tmp_path / "q.json").read_text())["objective"] == "flow"
