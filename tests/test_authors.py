"""The paper's released experiments in miniature on the digits world: the style loss against a float64
Gram computation, DDIM inversion against the image it came from (the error stated), every method on
both tasks, checkpoint equal to bptt, and sdo keeping exactly one network call's graph."""

import pytest
import torch
from _helpers import applicable_results, flat, rel_err

import sdo_bench
from sdo_bench.methods import Variant
from sdo_bench.methods import build as build_method
from sdo_bench.rewards.style import GramStyleReward, gram, tokens

TASKS = ["digits-latent-style", "digits-latent-improve"]
METHODS = ["bptt", "checkpoint", "truncated", "adjoint", "sdo", "drtune", "draft-lv", "refl"]


def grad(task, method, **options):
    return build_method(Variant(method, options)).gradient(task)


def test_the_style_loss_is_the_mean_squared_gram_difference_in_float64():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(3, 7, 5, generator=gen)  # (B, T, C)
    style = torch.randn(2, 7, 5, generator=gen)
    ref = torch.zeros(3, 5, 5, dtype=torch.float64)
    for b in range(3):  # Gᵦ[i, j] = Σ_t F[t, i] F[t, j] / T, written out
        for i in range(5):
            for j in range(5):
                ref[b, i, j] = sum(float(feats[b, t, i]) * float(feats[b, t, j]) for t in range(7)) / 7
    assert torch.allclose(gram(feats.double()), ref, atol=1e-12)
    reward = GramStyleReward(lambda x: x, style.double())
    style_gram = (gram(style.double())).mean(0)
    expected = -((ref - style_gram) ** 2).flatten(1).mean(1)
    assert torch.allclose(reward(feats.double()), expected, atol=1e-12)
    fmap = torch.randn(2, 4, 3, 3, generator=gen)  # a conv map: positions become tokens
    assert tokens(fmap).shape == (2, 9, 4) and torch.equal(tokens(fmap)[:, 4], fmap[:, :, 1, 1])


@pytest.mark.parametrize("s,bound", [(2, 0.03), (10, 0.04)])
def test_inversion_then_sampling_returns_to_the_real_image(s, bound):
    """DDIM inversion through the last s of 50 steps, then those s steps: the image it came from, to a
    relative error of a few percent (measured in float64: 2 steps 1.5e-2, 10 steps 2.3e-2; the error
    is the network output changing over one step, largest on the last, long step to ᾱ = 1)."""
    task = sdo_bench.tasks.build("digits-latent-improve", invert_steps=s, dtype="float64")
    from sdo_bench.tasks.digits.authors import held_out

    x0 = held_out(8)[:4].double()
    x_s = task.invert(x0, s)
    assert float((x_s - x0).norm()) > 0.01 * float(x0.norm())  # it did move up the schedule
    x = x_s
    with torch.no_grad():
        for k in range(task.steps):
            x = task.sampler.step(k, x, task.eps(x, k))
    err = float((x - x0).norm() / x0.norm())
    print(f"\ninvert {s} of 50 steps, sample back: relative error {err:.1e}")
    assert task.steps == s and err < bound


@pytest.mark.parametrize("name", TASKS)
def test_every_method_on_the_authors_regimes(name):
    task = sdo_bench.tasks.build(name, dtype="float64", batch=2)
    assert task.sampler.start_step == (45 if name.endswith("style") else 40) and task.steps == (5 if name.endswith("style") else 10)
    results = {m: grad(task, m) for m in METHODS}
    ran = applicable_results(task, results, build_method)
    assert {"bptt", "checkpoint", "sdo", "adjoint"} <= set(ran), set(ran)
    for m, res in ran.items():
        assert all(torch.isfinite(g).all() for g in res.grads) and float(flat(res.grads).norm()) > 0, m
    exact = results["bptt"].grads
    assert rel_err(results["checkpoint"].grads, exact) < 1e-12
    assert rel_err(grad(task, "sdo", keep=task.steps).grads, exact) < 1e-12


def test_sdo_on_the_style_task_keeps_exactly_one_network_calls_graph():
    """bptt over the last 5 steps minus bptt over the last 4 is one call's graph; sdo keeps bptt's
    5-step graph less four of them: one call (plus the decode and the style loss, as bptt)."""
    five = sdo_bench.tasks.build("digits-latent-style", batch=2)
    four = sdo_bench.tasks.build("digits-latent-style", batch=2, start_step=46)
    g5, g4 = grad(five, "bptt").graph_bytes, grad(four, "bptt").graph_bytes
    one_call = g5 - g4
    sdo = grad(five, "sdo").graph_bytes
    assert one_call > 0 and sdo == g5 - 4 * one_call, (g5, g4, sdo)


def test_the_improvement_starts_from_the_real_images_and_reports_fidelity():
    task = sdo_bench.tasks.build("digits-latent-improve")
    from sdo_bench.tasks.digits.authors import held_out

    scores = task.judge(task.sample())
    assert scores["fidelity_mse"] < 1e-3 and scores["fidelity_psnr_db"] > 30  # inverted and back
    assert scores["judge_class_histogram"][8] == task.batch  # still the 8s it started from
    assert float(task.reward()) < -5  # far from a 3: room to improve
    other = sdo_bench.tasks.build("digits-latent-improve", seed=1)
    assert not torch.equal(task.x_T(), other.x_T())  # the seed draws which held-out images
    assert len(held_out(8)) >= 30
    with pytest.raises(ValueError, match="invert_steps"):
        sdo_bench.tasks.build("digits-latent-improve", invert_steps=51)
