"""pytest-benchmark: one gradient step of every method on small fixed tasks.

``extra_info`` holds the deterministic figures (graph bytes, network evaluations) and the time ratios
to ``bptt`` and to one no-grad sample measured in the same process. Run with
``python -m pytest -m bench tests/bench``; compare absolute times only against a baseline saved on the
same machine (``--benchmark-autosave``, then ``--benchmark-compare --benchmark-compare-fail=median:20%``).
"""

import statistics
import time

import pytest

import sdo_bench

CASES = [
    ("gmm-latent", 20, {"batch": 32}),
    ("gmm-weights", 50, {"batch": 32}),
    ("digits-latent", 10, {"batch": 4, "judge": False}),
]
VARIANTS = [("bptt", {}), ("checkpoint", {}), ("truncated", {"k": 1}), ("adjoint", {}), ("sdo", {})]


def _median_time(fn, n):
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v[0] for v in VARIANTS])
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-N{c[1]}" for c in CASES])
def test_gradient_step(benchmark, case, variant):
    name, steps, overrides = case
    task = sdo_bench.tasks.build(name, steps=steps, **overrides)
    method = sdo_bench.methods.build(variant[0], **variant[1])
    first = method.gradient(task)
    if first.status != "ok":
        pytest.skip(first.reason)
    rounds = 20 if name.startswith("gmm") else 4
    t_sample = _median_time(task.reward, rounds)
    bptt = sdo_bench.methods.build("bptt")
    t_bptt = _median_time(lambda: bptt.gradient(task, measure_graph=False), rounds)
    benchmark.pedantic(
        method.gradient, args=(task,), kwargs={"measure_graph": False}, rounds=rounds, warmup_rounds=1
    )
    t = benchmark.stats.stats.median
    benchmark.extra_info.update(
        graph_bytes=first.graph_bytes,
        nfe_forward=first.nfe_forward,
        nfe_backward=first.nfe_backward,
        time_over_sample=t / t_sample,
        time_over_bptt=t / t_bptt,
    )
    assert first.nfe_backward <= first.nfe_forward
