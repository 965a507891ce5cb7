"""The harness's cost model on the digits world (issue: run harness): time of one gradient of every
method over one no-grad sample and over ``bptt``, and graph bytes over ``bptt``'s, at N = 50, all
measured in this one process. From the network-evaluation model: bptt ≈ 3 samples, checkpoint ≈ 4,
sdo ≈ 1 + 3/N."""

from sdo_bench.compare import regress
from sdo_bench.methods import Variant

VARIANTS = [
    Variant("bptt"),
    Variant("checkpoint"),
    Variant("truncated", {"k": 50}),
    Variant("adjoint"),
    Variant("sdo", {"step": "first"}),
    Variant("sdo", {"step": "last"}),
]


def test_digits_latent_n50_ratios(benchmark):
    N = 50
    case = benchmark.pedantic(
        regress.measure_case,
        args=("digits-latent", N, {"batch": 8, "judge": False}, 3),
        kwargs={"variants": VARIANTS},
        rounds=1,
        iterations=1,
    )
    bptt_bytes = case["bptt"]["graph_bytes"]
    print(f"\ndigits-latent N={N}: one no-grad sample {case['_sample']['time_s'] * 1e3:.1f} ms")
    print(f"{'method':18s} {'time/sample':>11s} {'time/bptt':>9s} {'graph/bptt':>10s} {'nfe':>8s}")
    for label, r in case.items():
        if label == "_sample":
            continue
        print(
            f"{label:18s} {r['time_over_sample']:11.3f} {r['time_over_bptt']:9.3f} "
            f"{r['graph_bytes'] / bptt_bytes:10.4f} {r['nfe_forward']:>4d}/{r['nfe_backward']:<3d}"
        )
        benchmark.extra_info[label] = {k: r[k] for k in ("time_over_sample", "time_over_bptt", "graph_bytes")}
    # the harness is good when sdo stays within 1.25x one no-grad sample and bptt within 4x
    assert case["sdo-step=first"]["time_over_sample"] < 1.25
    assert case["bptt"]["time_over_sample"] < 4.0
    assert case["sdo-step=first"]["graph_bytes"] < bptt_bytes / 10
