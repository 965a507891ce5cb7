"""The rivals users compare SDO with (issue: a fair race): DRTune, DRaFT-LV, ReFL, and AlignProp's code
rules for truncation — each against an exact identity in float64."""

import pytest
import torch
from _helpers import rel_err

import sdo_bench
from sdo_bench.methods import build


def grads(task, name, **options):
    res = build(name, **options).gradient(task)
    assert res.status == "ok", res.reason
    return res


@pytest.mark.parametrize("task_name,steps", [("gmm-weights", 10), ("digits-condition", 4)])
@pytest.mark.parametrize("step", [0, 3])
def test_drtune_k1_equals_sdo_at_the_same_step(task_name, steps, step):
    overrides = {"batch": 2, "judge": False} if task_name.startswith("digits") else {}
    task = sdo_bench.tasks.build(task_name, steps=steps, dtype="float64", **overrides)
    a = grads(task, "drtune", k=1, step=step)
    b = grads(task, "sdo", step=step)
    assert rel_err(a.grads, b.grads) < 1e-9 and a.nfe_forward == steps and a.nfe_backward == 1


def test_drtune_keeps_k_steps_spread_and_is_not_applicable_to_latents():
    task = sdo_bench.tasks.build("gmm-weights", steps=20, dtype="float64")
    res = grads(task, "drtune", k=4)
    kept = res.info["kept"]
    assert len(kept) == 4 and res.nfe_backward == 4 and all(4 <= b - a <= 6 for a, b in zip(kept, kept[1:]))
    res = build("drtune").gradient(sdo_bench.tasks.build("gmm-latent", steps=5))
    assert res.status == "not_applicable" and "x_T" in res.reason


def test_refl_at_the_last_step_equals_sdo_last():
    """The GMM schedule lands its last step on ᾱ = 1, where the predicted x̂_0 is the last step itself."""
    task = sdo_bench.tasks.build("gmm-weights", steps=10, dtype="float64")
    a = grads(task, "refl", k_min=9, k_max=9)
    b = grads(task, "sdo", step="last")
    assert rel_err(a.grads, b.grads) < 1e-9 and (a.nfe_forward, a.nfe_backward) == (10, 1)


def test_refl_draws_a_late_step_and_counts_its_calls():
    task = sdo_bench.tasks.build("gmm-weights", steps=20, dtype="float64")
    m = build("refl")
    for _ in range(5):
        res = m.gradient(task)
        k = res.info["step"]
        assert 15 <= k <= 19 and (res.nfe_forward, res.nfe_backward) == (k + 1, 1)
    with pytest.raises(ValueError, match="k_min"):
        build("refl", k_min=5, k_max=30).check(task)


def test_draft_lv_averages_its_renoisings():
    """n = 2 is the mean of two n = 1 gradients drawn from the same seeded stream, one after the other."""
    task = sdo_bench.tasks.build("gmm-weights", steps=8, dtype="float64")
    two = grads(task, "draft-lv", n=2)
    one = build("draft-lv", n=1)
    g1, g2 = one.gradient(task), one.gradient(task)
    assert (two.nfe_forward, two.nfe_backward) == (8 + 2, 2) and (g1.nfe_forward, g1.nfe_backward) == (9, 1)
    mean = [(a + b) / 2 for a, b in zip(g1.grads, g2.grads)]
    assert rel_err(mean, two.grads) < 1e-12 and rel_err(g1.grads, g2.grads) > 1e-3
    assert build("draft-lv").gradient(sdo_bench.tasks.build("gmm-latent", steps=5)).status == "not_applicable"


class _FixedDraws:
    """Stands in for a method's random stream: every randint returns ``value``."""

    def __init__(self, value):
        self.value = value

    def randint(self, lo, hi):
        return self.value

    def gauss(self, mu, sigma):
        return self.value


@pytest.mark.parametrize("name", ["gmm-latent", "gmm-weights"])
def test_alignprop_per_step_rule_keeping_every_step_is_bptt(name):
    task = sdo_bench.tasks.build(name, steps=6, dtype="float64")
    m = build("truncated", k="per-step")
    m._rng = _FixedDraws(0)  # r = 0 at every step: every step keeps its network graph
    a = m.gradient(task)
    assert a.info["kept"] == list(range(6)) and a.nfe_backward == 6
    assert rel_err(a.grads, grads(task, "bptt").grads) < 1e-12


def test_alignprop_rules_detach_only_the_network_output():
    task = sdo_bench.tasks.build("gmm-latent", steps=6, dtype="float64")
    m = build("truncated", k="per-step")
    m._rng = _FixedDraws(6)  # r = N: no step keeps its network graph; x_T's gradient is the affine chain
    res = m.gradient(task)
    assert res.status == "ok" and res.nfe_backward == 0 and res.info["kept"] == []
    x = task.x_T().detach().clone().requires_grad_(True)
    y = x
    for k in range(6):
        with torch.no_grad():
            eps = task.eps(y, k)
        y = task.sampler.step(k, y, eps)
    ref = torch.autograd.grad(task.reward_per_sample(y).mean(), x)
    assert rel_err(res.grads, ref) < 1e-12
    g = build("truncated", k="gaussian")
    g._rng = _FixedDraws(4.4)  # r = round(4.4) = 4: steps 4 and 5 keep their graph
    assert g.gradient(task).info["kept"] == [4, 5]
    # the seeded rules: per-step keeps step i with probability (i + 1) / (N + 1)
    task = sdo_bench.tasks.build("gmm-weights", steps=4)
    m = build("truncated", k="per-step")
    counts = [0] * 4
    for _ in range(400):
        for i in m.gradient(task, measure_graph=False).info["kept"]:
            counts[i] += 1
    assert [round(c / 400, 1) for c in counts] == [0.2, 0.4, 0.6, 0.8]
