"""The statistics cannot be impossible: a ratio's interval is positive (a reduction never exceeds 100%),
no interval and no verdict from fewer than three seeds, and each interval equals an independent
computation of it."""

import math

import numpy as np
import pytest

from sdo_bench.report.stats import MIN_SEEDS, paired_difference, paired_ratio, seeds_needed
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
