"""The statistics cannot be impossible: a ratio's interval is positive (a reduction never exceeds 100%),
no interval and no verdict from fewer than three seeds, and each interval equals an independent
computation of it."""

import math

import numpy as np
import pytest

from sdo_bench.report.stats import MIN_SEEDS, block_ratio, paired_difference, paired_ratio, seeds_needed
from sdo_bench.report.tables import _cost_verdict, _reward_verdict


@pytest.mark.parametrize("seed", range(200))
def test_no_reduction_interval_leaves_minus_infinity_to_100_percent(seed):
    """Random per-seed times, spread up to 20x between seeds (a shared machine at its worst)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 9))
    base = rng.uniform(0.01, 2.0)
    x = base * rng.lognormal(0, rng.uniform(0, 1.5), n)  # the method's times
    y = base * rng.lognormal(0, rng.uniform(0, 1.5), n)  # the reference's
    ratio, lo, hi, k = paired_ratio(x, y)
    assert k == n and ratio > 0
    if n < MIN_SEEDS:
        assert math.isnan(lo) and math.isnan(hi)
        assert _cost_verdict(ratio, lo, hi, n).startswith("n/a")
    else:
        assert 0 < lo <= ratio <= hi
        assert 1 - hi <= 1 - ratio <= 1 - lo < 1  # the reduction and its interval, all below 100%


def test_the_ratio_interval_is_the_t_interval_of_the_log_ratios():
    x, y = np.array([1.0, 2.0, 4.0, 3.0]), np.array([2.0, 3.0, 5.0, 7.0])
    logs = np.log(x / y)
    half = 3.182446305284263 * logs.std(ddof=1) / 2  # t_{0.975, 3}, sqrt(4) = 2
    ratio, lo, hi, _ = paired_ratio(x, y)
    assert ratio == pytest.approx(math.exp(logs.mean()))
    assert (lo, hi) == pytest.approx((math.exp(logs.mean() - half), math.exp(logs.mean() + half)))


def test_the_difference_interval_is_the_paired_t_interval():
    x, y = np.array([1.0, 2.5, 3.0]), np.array([0.5, 1.0, 2.5])
    d = x - y
    half = 4.302652729911275 * d.std(ddof=1) / math.sqrt(3)
    m, lo, hi, n = paired_difference(x, y)
    assert (m, lo, hi, n) == pytest.approx((d.mean(), d.mean() - half, d.mean() + half, 3))
    m, lo, hi, n = paired_difference([1.0, 2.0], [0.0, 0.0])
    assert n == 2 and math.isnan(lo) and _reward_verdict(m, lo, hi, 0.1, n=n).startswith("n/a: 2 seeds")


def test_seeds_needed_makes_the_interval_clear_the_margin():
    rng = np.random.default_rng(0)
    y = rng.normal(0, 1, 4)
    x = y + 0.3 + rng.normal(0, 0.5, 4)  # the differences: mean ~0.3, sd ~0.5
    n = seeds_needed(x, y, margin=0.0)
    d = x - y
    from scipy import stats

    t = lambda k: stats.t.ppf(0.975, k - 1) * d.std(ddof=1) / math.sqrt(k)  # noqa: E731
    assert n is not None and t(n) < abs(d.mean()) and (n == MIN_SEEDS or t(n - 1) >= abs(d.mean()))
    assert seeds_needed([1.0], [0.0]) is None


def _frame(times: dict):
    """A records frame of one task: ``times[variant]`` lists the time of each seed (None: no run)."""
    import pandas as pd

    rows = [
        {"task": "t", "variant": v, "seed": s, "time_per_iter_s": x}
        for v, xs in times.items()
        for s, x in enumerate(xs)
        if x is not None
    ]
    return pd.DataFrame(rows)


def test_the_block_ratio_of_two_variants_is_the_paired_t_interval():
    x, y = [1.0, 2.0, 4.0, 3.0], [2.0, 3.0, 5.0, 7.0]
    got = block_ratio(_frame({"a": x, "b": y}), ("t", "a"), ("t", "b"), "time_per_iter_s")
    assert got[:4] == pytest.approx(paired_ratio(x, y))
    assert got[4] == 3


def test_the_block_ratio_is_the_two_way_least_squares_contrast():
    """An independent computation: ordinary least squares on variant and seed indicators (numpy's
    lstsq), the contrast's standard error from the inverse normal matrix, scipy's t quantile."""
    from scipy import stats

    rng = np.random.default_rng(3)
    V, S = 5, 4
    logs = rng.normal(0, 1, (V, 1)) + rng.normal(0, 0.5, (1, S)) + rng.normal(0, 0.1, (V, S))
    times = {f"v{i}": list(np.exp(logs[i])) for i in range(V)}
    times["v4"][2] = None  # v4 missed seed 2: it is left out of the blocks on all four seeds
    X, yv = [], []
    for i in range(V - 1):
        for s in range(S):
            X.append([1.0 * (i == k) for k in range(V - 1)] + [1.0 * (s == k) for k in range(1, S)])
            yv.append(logs[i, s])
    X, yv = np.array(X), np.array(yv)
    beta, *_ = np.linalg.lstsq(X, yv, rcond=None)
    df = len(yv) - X.shape[1]
    s2 = ((yv - X @ beta) ** 2).sum() / df
    c = np.zeros(X.shape[1])
    c[1], c[3] = 1.0, -1.0  # v1 - v3
    est, se = c @ beta, math.sqrt(s2 * c @ np.linalg.inv(X.T @ X) @ c)
    half = stats.t.ppf(0.975, df) * se
    got = block_ratio(_frame(times), ("t", "v1"), ("t", "v3"), "time_per_iter_s")
    assert got == pytest.approx((math.exp(est), math.exp(est - half), math.exp(est + half), S, df))
    assert block_ratio(_frame(times), ("t", "v1"), ("t", "v1"), "time_per_iter_s")[:3] == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("seed", range(100))
def test_no_block_ratio_interval_from_too_few_seeds_or_past_100_percent(seed):
    rng = np.random.default_rng(seed)
    n, V = int(rng.integers(1, 7)), int(rng.integers(2, 6))
    times = {
        f"v{i}": list(rng.uniform(0.01, 2.0) * rng.lognormal(0, rng.uniform(0, 1.5), n)) for i in range(V)
    }
    ratio, lo, hi, k, _ = block_ratio(_frame(times), ("t", "v0"), ("t", "v1"), "time_per_iter_s")
    assert k == n and ratio > 0
    if n < MIN_SEEDS:
        assert math.isnan(lo) and math.isnan(hi) and _cost_verdict(ratio, lo, hi, n).startswith("n/a")
    else:
        assert 0 < lo <= ratio <= hi and 1 - lo < 1


@pytest.mark.parametrize(
    "lo, hi, verdict",
    [(0.05, 0.15, "supported"), (0.16, 0.6, "not supported"), (0.1, 0.2, "cannot decide")],
)
def test_the_cost_verdict_reads_the_claimed_reduction_off_the_whole_interval(lo, hi, verdict):
    assert _cost_verdict((lo * hi) ** 0.5, lo, hi, 3) == verdict
