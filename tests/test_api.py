"""The public API of docs/design.md §5 and its errors."""

import pytest
import torch

import sdo_bench


def test_names():
    assert {"gmm-latent", "gmm-weights"} <= set(sdo_bench.tasks.names())
    assert sdo_bench.methods.names() == [
        "bptt",
        "checkpoint",
        "truncated",
        "adjoint",
        "sdo",
        "drtune",
        "draft-lv",
        "refl",
    ]


@pytest.mark.parametrize("name,target", [("gmm-latent", "latent"), ("gmm-weights", "weights")])
def test_task_contract(name, target):
    task = sdo_bench.tasks.build(name, steps=20, seed=0, dtype="float64")
    assert task.target == target and task.steps == 20
    params = task.parameters()
    assert params and all(p.requires_grad and p.is_leaf for p in params)
    r = task.reward()
    assert r.shape == () and torch.isfinite(r)
    assert float(task.reward()) == float(r)  # deterministic
    s = task.sample()
    assert s.dim() == 4 and s.shape[0] == task.batch
    assert task.pipeline is None and task.prompts is None
    res = sdo_bench.methods.build("sdo", step="first").gradient(task)
    assert res.status == "ok" and isinstance(res.reward, float)
    assert [g.shape for g in res.grads] == [p.shape for p in params]
    # only the target requires grad
    frozen = [p for p in task.network.parameters() if p.requires_grad and all(p is not q for q in params)]
    assert frozen == []


def test_seed_changes_noise_and_overrides_apply():
    a = sdo_bench.tasks.build("gmm-latent", seed=0, batch=5)
    b = sdo_bench.tasks.build("gmm-latent", seed=1, batch=5)
    assert a.x_T().shape == (5, 2)
    assert not torch.equal(a.x_T(), b.x_T())
    assert a.x_T().dtype == torch.float32


def test_gradient_ascent_raises_reward():
    for name in ("gmm-latent", "gmm-weights"):
        task = sdo_bench.tasks.build(name, steps=10, dtype="float64")
        method = sdo_bench.methods.build("sdo")
        opt = task.make_optimizer()
        r0 = float(task.reward())
        for _ in range(15):
            res = method.gradient(task)
            for p, g in zip(task.parameters(), res.grads):
                p.grad = -g
            opt.step()
        assert float(task.reward()) > r0 + 1.0, name


def test_unknown_task_lists_choices():
    with pytest.raises(ValueError, match="valid choices: .*gmm-latent"):
        sdo_bench.tasks.build("no-such-task")


def test_unknown_task_override_lists_choices():
    with pytest.raises(ValueError, match="valid choices: .*steps"):
        sdo_bench.tasks.build("gmm-latent", stepz=3)


@pytest.mark.parametrize("bad", [{"steps": 0}, {"steps": 2.5}, {"seed": "x"}, {"batch": -1}])
def test_bad_task_values(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        sdo_bench.tasks.build("gmm-latent", **bad)


def test_bad_dtype():
    with pytest.raises(ValueError, match="valid choices: float32"):
        sdo_bench.tasks.build("gmm-latent", dtype="float8")


def test_unknown_method_lists_choices():
    with pytest.raises(ValueError, match="valid choices: bptt, checkpoint, truncated, adjoint, sdo"):
        sdo_bench.methods.build("sgd")


@pytest.mark.parametrize(
    "method,opts,match",
    [
        ("sdo", {"kep": 2}, "valid options: keep, step"),
        ("bptt", {"k": 1}, "valid options: \\(none\\)"),
        ("truncated", {"k": 0}, ">= 1 or 'random'"),
        ("truncated", {"k": "some"}, "must be an integer"),
        ("sdo", {"step": "middle"}, "first, last, random"),
        ("sdo", {"keep": 0}, ">= 1"),
        ("adjoint", {"solver": "dopri5"}, "euler, midpoint, rk4"),
    ],
)
def test_invalid_options_at_build(method, opts, match):
    with pytest.raises(ValueError, match=match):
        sdo_bench.methods.build(method, **opts)


@pytest.mark.parametrize(
    "method,opts,match",
    [
        ("truncated", {"k": 11}, "valid choices: an integer 1..10 or 'random'"),
        ("truncated", {"k": "random", "k_max": 12}, "k_max <= N=10"),
        ("sdo", {"step": 10}, "valid choices: first, last, random, or 0..9"),
        ("sdo", {"step": 8, "keep": 3}, "0..7"),
        ("sdo", {"keep": 11}, "valid choices: 1..10"),
    ],
)
def test_invalid_options_against_task(method, opts, match):
    task = sdo_bench.tasks.build("gmm-weights", steps=10)
    m = sdo_bench.methods.build(method, **opts)
    with pytest.raises(ValueError, match=match):
        m.gradient(task)


def test_string_options_from_command_line():
    m = sdo_bench.methods.build("sdo", step="3", keep="2")
    assert m.opts == {"step": 3, "keep": 2}
    assert sdo_bench.methods.build("truncated", k="4").opts["k"] == 4
