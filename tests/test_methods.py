"""Each gradient is what it claims to be: exact methods against finite differences and each other,
approximate ones against the exact gradient, and the cost counters against docs/design.md §3's formulas."""

import pytest
import torch
from _helpers import cosine, flat, rel_err

import sdo_bench

GMM_TASKS = ["gmm-latent", "gmm-weights"]


def build(name, steps=20, **kw):
    return sdo_bench.tasks.build(name, steps=steps, dtype="float64", **kw)


def grad(task, method, **options):
    res = sdo_bench.methods.build(method, **options).gradient(task)
    assert res.status == "ok", res.reason
    return res


@pytest.mark.parametrize("name", GMM_TASKS)
def test_bptt_matches_central_finite_differences(name):
    task = build(name)
    res = grad(task, "bptt")
    gen = torch.Generator().manual_seed(123)
    h = 1e-5
    for _ in range(3):
        dirs = [torch.randn(p.shape, generator=gen, dtype=p.dtype) for p in task.parameters()]
        with torch.no_grad():
            for p, v in zip(task.parameters(), dirs):
                p.add_(h * v)
            r_plus = float(task.reward())
            for p, v in zip(task.parameters(), dirs):
                p.sub_(2 * h * v)
            r_minus = float(task.reward())
            for p, v in zip(task.parameters(), dirs):
                p.add_(h * v)
        fd = (r_plus - r_minus) / (2 * h)
        analytic = float(flat(res.grads) @ flat(dirs))
        assert abs(fd - analytic) / abs(analytic) < 1e-5, (fd, analytic)


@pytest.mark.parametrize("name", GMM_TASKS)
def test_exact_methods_equal_bptt(name):
    task = build(name)
    exact = grad(task, "bptt").grads
    assert rel_err(grad(task, "checkpoint").grads, exact) < 1e-9
    assert rel_err(grad(task, "truncated", k=task.steps).grads, exact) < 1e-12
    assert rel_err(grad(task, "sdo", keep=task.steps).grads, exact) < 1e-12


def test_sdo_last_equals_truncated_one_on_weights():
    task = build("gmm-weights")
    a = grad(task, "sdo", step="last").grads
    b = grad(task, "truncated", k=1).grads
    assert all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("k", [1, 5, "random"])
def test_truncated_latent_is_not_applicable(k):
    task = build("gmm-latent", steps=10)
    res = (
        sdo_bench.methods.build("truncated", k=k, k_max=9).gradient(task)
        if k == "random"
        else sdo_bench.methods.build("truncated", k=k).gradient(task)
    )
    assert res.status == "not_applicable"
    assert res.grads is None
    assert "x_T" in res.reason


def test_truncated_random_draws_vary_and_are_seeded():
    task = build("gmm-weights", steps=10)
    m1 = sdo_bench.methods.build("truncated", k="random")
    m2 = sdo_bench.methods.build("truncated", k="random")
    ks1 = [m1.gradient(task).info["k"] for _ in range(12)]
    ks2 = [m2.gradient(task).info["k"] for _ in range(12)]
    assert ks1 == ks2 and len(set(ks1)) > 1 and all(1 <= k <= 10 for k in ks1)
    res = m1.gradient(task)
    assert res.nfe_backward == res.info["k"]


def test_adjoint_error_falls_with_steps():
    errors = {}
    for name in GMM_TASKS:
        for N in (10, 50, 200):
            task = build(name, steps=N)
            errors[name, N] = rel_err(grad(task, "adjoint").grads, grad(task, "bptt").grads)
        print(
            f"\nadjoint relative error vs bptt on {name}: "
            + ", ".join(f"N={N}: {errors[name, N]:.3e}" for N in (10, 50, 200))
        )
        assert errors[name, 10] > errors[name, 50] > errors[name, 200]
    assert errors["gmm-weights", 200] < 0.05


@pytest.mark.parametrize("N", [5, 12])
def test_network_evaluation_counts(N):
    cases = [  # (task, method, options, nfe_forward, nfe_backward) per docs/design.md §3
        ("gmm-latent", "bptt", {}, N, N),
        ("gmm-weights", "bptt", {}, N, N),
        ("gmm-latent", "checkpoint", {}, 2 * N, N),
        ("gmm-weights", "checkpoint", {}, 2 * N, N),
        ("gmm-weights", "truncated", {"k": 3}, N, 3),
        ("gmm-latent", "truncated", {"k": N}, N, N),
        ("gmm-latent", "adjoint", {}, 2 * N, N),
        ("gmm-weights", "adjoint", {}, 2 * N, N),
        ("gmm-latent", "sdo", {}, N, 1),
        ("gmm-weights", "sdo", {}, N, 1),
        ("gmm-weights", "sdo", {"keep": 4, "step": "random"}, N, 4),
        ("gmm-latent", "sdo", {"keep": 2, "step": "last"}, N, 2),
    ]
    for name, method, opts, fwd, bwd in cases:
        res = grad(build(name, steps=N), method, **opts)
        assert (res.nfe_forward, res.nfe_backward) == (fwd, bwd), (name, method, opts)


@pytest.mark.parametrize("name", GMM_TASKS)
def test_graph_bytes_scaling(name):
    gb = {(m, N): grad(build(name, steps=N), m).graph_bytes for m in ("sdo", "bptt") for N in (10, 100)}
    print(f"\ngraph bytes on {name}: " + ", ".join(f"{m} N={N}: {b}" for (m, N), b in gb.items()))
    assert gb["sdo", 10] == gb["sdo", 100] > 0
    assert gb["bptt", 100] >= 8 * gb["bptt", 10]
    assert gb["sdo", 10] < gb["bptt", 10]


def test_sdo_latent_cosine_reported():
    for N in (10, 50):
        task = build("gmm-latent", steps=N)
        c = cosine(grad(task, "sdo").grads, grad(task, "bptt").grads)
        print(f"\nsdo (step=first) latent-gradient cosine to exact, N={N}: {c:.4f}")
        assert -1.0 <= c <= 1.0


def test_sdo_step_choice():
    task = build("gmm-weights", steps=10)
    assert grad(task, "sdo", step="first").info["step"] == 0
    assert grad(task, "sdo", step="last", keep=3).info["step"] == 7
    assert grad(task, "sdo", step=4).info["step"] == 4
    m = sdo_bench.methods.build("sdo")  # default on a parameter target: random
    steps = {m.gradient(task).info["step"] for _ in range(20)}
    assert len(steps) > 1 and steps <= set(range(10))
    assert sdo_bench.methods.build("sdo").gradient(build("gmm-latent", steps=10)).info["step"] == 0


@pytest.mark.parametrize("method", ["bptt", "checkpoint", "truncated", "adjoint", "sdo"])
@pytest.mark.parametrize("name", GMM_TASKS)
def test_float32_gradients_agree_with_float64(name, method):
    opts = {"k": 20} if method == "truncated" else {}
    g64 = grad(build(name), method, **opts).grads
    t32 = sdo_bench.tasks.build(name, steps=20, dtype="float32")
    r32 = grad(t32, method, **opts)
    assert r32.grads[0].dtype == torch.float32
    assert r32.grads[0].shape == t32.parameters()[0].shape
    assert cosine([g.double() for g in r32.grads], g64) > 0.999


def test_forward_sample_of_every_method_is_the_ddim_sample():
    task = build("gmm-weights")
    r = float(task.reward())
    for m, o in [("bptt", {}), ("checkpoint", {}), ("truncated", {"k": 2}), ("adjoint", {}), ("sdo", {})]:
        assert grad(task, m, **o).reward == pytest.approx(r, rel=1e-10)
