"""Latent priors (ReNO's norm prior, DNO's probability regularizer): values, exact gradients against
finite differences in float64, and how a task optimizes ``reward - weight * prior``."""

import math

import pytest
import torch

import sdo_bench
from sdo_bench.experiment import runner as experiment
from sdo_bench.methods import Variant
from sdo_bench.methods import build as build_method
from sdo_bench.tasks import priors


def _fd_check(fn, z, eps=1e-6, coords=6):
    z = z.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(fn(z).sum(), z)
    flat = z.detach().flatten()
    for i in torch.linspace(0, flat.numel() - 1, coords).long().tolist():
        e = torch.zeros_like(flat)
        e[i] = eps
        fd = (fn((flat + e).view_as(z)).sum() - fn((flat - e).view_as(z)).sum()) / (2 * eps)
        assert abs(float(fd) - float(g.flatten()[i])) < 1e-6 * max(1.0, abs(float(fd))), i


def test_norm_prior_is_the_shifted_chi_nll_zero_on_the_shell():
    d = 256
    z = torch.randn(3, 1, 16, 16, dtype=torch.float64)
    r = z.flatten(1).norm(dim=1)
    want = 0.5 * r**2 - (d - 1) * torch.log(r) - (0.5 * (d - 1) - (d - 1) * 0.5 * math.log(d - 1))
    assert torch.allclose(priors.norm_nll(z), want, atol=1e-9)
    on_shell = z / z.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * math.sqrt(d - 1)
    assert priors.norm_nll(on_shell).abs().max() < 1e-9
    assert (priors.norm_nll(1.2 * on_shell) > 1).all() and (priors.norm_nll(0.8 * on_shell) > 1).all()
    _fd_check(priors.norm_nll, 1.3 * z)


def test_dno_prior_is_small_for_gaussian_noise_and_grows_off_it():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(4, 4, 32, 32, generator=g, dtype=torch.float64)
    dno = priors.build("dno", z[0].numel())
    real = dno(z)
    assert (real >= 0).all() and real.max() < 0.5  # a real draw sits on or near the floor
    shifted, scaled = dno(z + 0.5), dno(2.5 * z)
    assert (shifted > 10 * real.max()).all() and (scaled > 10 * real.max()).all()
    _fd_check(dno, 2.5 * z[:1])  # off the clamp the gradient is the formula's


def test_unknown_prior_and_wrong_target_are_clear_errors():
    with pytest.raises(ValueError, match="unknown prior 'l2'; valid choices: none, norm, dno"):
        sdo_bench.tasks.build("gmm-latent", prior="l2")
    with pytest.raises(ValueError, match="latent tasks only.*set prior: none"):
        sdo_bench.tasks.build("gmm-weights", prior="norm")
    with pytest.raises(ValueError, match="x_s.*set prior: none"):
        sdo_bench.tasks.build("gmm-latent", steps=10, start_step=5, prior="norm")
    with pytest.raises(ValueError, match="prior_weight must be a finite number >= 0"):
        sdo_bench.tasks.build("gmm-latent", prior="norm", prior_weight="lots")


def test_defaults_digits_latent_has_the_norm_prior_and_the_regime_drops_it():
    task = sdo_bench.tasks.build("digits-latent", steps=5, batch=2, judge=False)
    assert (task.prior, task.prior_weight) == ("norm", 3.0)
    tail = sdo_bench.tasks.build("digits-latent", steps=50, start_step=45, batch=2, judge=False)
    assert tail.prior == "none" and tail.config["prior"] == "none"


def test_run_optimizes_the_objective_and_records_reward_and_objective_apart():
    w, lr = 2.0, 0.01
    kw = dict(steps=8, iterations=1, optimizer="sgd", lr=lr, prior="norm", prior_weight=w, dtype="float64")
    task = sdo_bench.tasks.build("gmm-latent", **kw)
    x0 = task.x_T().detach().clone()
    reference = sdo_bench.tasks.build("gmm-latent", **kw)
    g_reward = build_method(Variant("bptt")).gradient(reference).grads[0]
    z = x0.clone().requires_grad_(True)
    (g_prior,) = torch.autograd.grad(-w * priors.norm_nll(z).mean(), z)
    rec = experiment.run(task, Variant("bptt"), fidelity=False)
    assert torch.allclose(task.x_T().detach(), x0 + lr * (g_reward + g_prior), atol=1e-12)
    penalty = float(priors.norm_nll(task.x_T().detach()).mean())
    assert rec["prior_final"] == pytest.approx(penalty, abs=1e-12)
    assert rec["objective_final"] == pytest.approx(rec["reward_final"] - w * penalty, abs=1e-12)
    assert rec["objective_init"] < rec["reward_init"]  # x_T is not exactly on the shell
