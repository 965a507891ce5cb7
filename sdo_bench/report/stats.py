"""Intervals over seeds, the one set of rules every table, figure and verdict uses.

- A mean over seeds: the 95% t-interval (Student's t with n - 1 degrees of freedom) where the seeds are
  few (n < :data:`BCA_FROM`), else the BCa bootstrap (``scipy.stats.bootstrap``, seeded).
- A difference between two methods (a reward, an objective): paired by seed, the t-interval of the
  paired differences (``scipy.stats.ttest_rel(...).confidence_interval``).
- A ratio (memory, FLOPs): paired by seed on the log scale, the t-interval of the per-seed log ratios
  taken back with ``exp``: a ratio's interval is positive, so a reduction ``1 - ratio`` never exceeds
  100%.
- A time ratio: the same paired log ratio, with the spread taken from every variant the task ran
  (:func:`block_ratio`: a randomized block design, the seeds the blocks). A run's times vary with what
  else the machine does while it runs; the variants of one seed run back to back, so a seed's block
  shares that state and the block effect takes it out, and the spread left is estimated from all the
  variants (many degrees of freedom) instead of from one pair's three seeds (two). With two variants
  it is the paired t-interval.

No interval from fewer than :data:`MIN_SEEDS` seeds (two seeds give a t-interval 12.7 standard errors
wide): the figure is reported alone and no verdict is drawn from it. Values that do not vary have a
zero-width interval.
"""

from __future__ import annotations

import math

import numpy as np

CI_LEVEL = 0.95
#: the fewest seeds an interval (and so a verdict) is drawn from
MIN_SEEDS = 3
#: from this many seeds on, the BCa bootstrap for a mean; below it, the t-interval (a bootstrap over 3
#: or 5 seeds has too few distinct resamples to be trusted)
BCA_FROM = 10
BOOTSTRAP = 2000

NAN3 = (math.nan, math.nan, math.nan)


def _finite(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return x[np.isfinite(x)]


def interval(values, seed: int = 0) -> tuple[float, float, float]:
    """``(mean, low, high)`` of the finite ``values`` (one per seed), as the module doc says."""
    from scipy import stats

    x = _finite(values)
    if len(x) == 0:
        return NAN3
    m = float(x.mean())
    if len(x) < MIN_SEEDS:
        return m, math.nan, math.nan
    if np.ptp(x) == 0:
        return m, m, m
    if len(x) < BCA_FROM:
        half = float(stats.t.ppf(0.5 + CI_LEVEL / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
        return m, m - half, m + half
    res = stats.bootstrap(
        (x,), np.mean, confidence_level=CI_LEVEL, n_resamples=BOOTSTRAP, method="BCa",
        random_state=np.random.default_rng(seed),
    )  # fmt: skip
    return m, float(res.confidence_interval.low), float(res.confidence_interval.high)


def pair_by_seed(frame, a: tuple, b: tuple, col: str) -> tuple[np.ndarray, np.ndarray]:
    """The values of ``col`` of two (task label, variant) pairs of a records frame over the seeds both
    ran, seed by seed (what every paired statistic here takes)."""
    x = frame[(frame.task == a[0]) & (frame.variant == a[1])].set_index("seed")[col]
    y = frame[(frame.task == b[0]) & (frame.variant == b[1])].set_index("seed")[col]
    seeds = x.index.intersection(y.index)
    return x[seeds].to_numpy(dtype=float), y[seeds].to_numpy(dtype=float)


def _pairs(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def paired_difference(x, y) -> tuple[float, float, float, int]:
    """``(mean of x - y, low, high, n)``: the paired t-interval of the differences (seed by seed);
    no interval below :data:`MIN_SEEDS` pairs."""
    from scipy import stats

    x, y = _pairs(x, y)
    n = len(x)
    if n == 0:
        return (*NAN3, 0)
    d = x - y
    m = float(d.mean())
    if n < MIN_SEEDS:
        return m, math.nan, math.nan, n
    if np.ptp(d) == 0:
        return m, m, m, n
    ci = stats.ttest_rel(x, y).confidence_interval(CI_LEVEL)
    return m, float(ci.low), float(ci.high), n


def paired_ratio(x, y) -> tuple[float, float, float, int]:
    """``(geometric mean of x / y, low, high, n)``: the t-interval of the paired log ratios, taken back
    with exp (every bound positive); no interval below :data:`MIN_SEEDS` pairs. Pairs where either
    value is not positive are left out."""
    from scipy import stats

    x, y = _pairs(x, y)
    ok = (x > 0) & (y > 0)
    x, y = x[ok], y[ok]
    n = len(x)
    if n == 0:
        return (*NAN3, 0)
    logs = np.log(x) - np.log(y)
    m = float(np.exp(logs.mean()))
    if n < MIN_SEEDS:
        return m, math.nan, math.nan, n
    if np.ptp(logs) == 0:
        return m, m, m, n
    ci = stats.ttest_1samp(logs, 0.0).confidence_interval(CI_LEVEL)
    return m, float(np.exp(ci.low)), float(np.exp(ci.high)), n


def block_ratio(frame, a: tuple, b: tuple, col: str) -> tuple[float, float, float, int, int]:
    """``(geometric mean of a / b, low, high, n, df)`` of ``col`` (a time) for two (task label,
    variant) pairs of a records frame, paired by seed, with the residual spread of the two-way additive
    model ``log t[v, s] = mu[v] + beta[s] + e`` fitted to every variant of the two pairs' tasks that ran
    on all the seeds both ran (a randomized complete block design; ``df`` = (variants - 1) x (seeds -
    1)). The ratio is exp(mean of the per-seed log ratios), as :func:`paired_ratio`'s; its interval is
    exp of ``mean +- t(df) * sqrt(2 * s2 / n)``. No interval below :data:`MIN_SEEDS` seeds; a variant
    against itself is 1 exactly."""
    from scipy import stats

    sub = frame[frame.task.isin({a[0], b[0]})]
    wide = sub.pivot_table(index=["task", "variant"], columns="seed", values=col, aggfunc="first")
    if a not in wide.index or b not in wide.index:
        return (*NAN3, 0, 0)
    logs = np.log(wide.where(wide > 0))
    seeds = [s for s in wide.columns if np.isfinite(logs.loc[a, s]) and np.isfinite(logs.loc[b, s])]
    n = len(seeds)
    if n == 0:
        return (*NAN3, 0, 0)
    Y = logs[seeds].dropna()  # the variants that ran on every one of those seeds (a and b among them)
    d = (Y.loc[a] - Y.loc[b]).to_numpy()
    m = float(np.exp(d.mean()))
    if n < MIN_SEEDS:
        return m, math.nan, math.nan, n, 0
    if a == b:
        return m, m, m, n, 0
    y = Y.to_numpy()
    resid = y - y.mean(1, keepdims=True) - y.mean(0, keepdims=True) + y.mean()
    df = (len(y) - 1) * (n - 1)
    s2 = float((resid**2).sum()) / df
    if s2 == 0:
        return m, m, m, n, df
    half = float(stats.t.ppf(0.5 + CI_LEVEL / 2, df)) * math.sqrt(2 * s2 / n)
    return m, float(np.exp(d.mean() - half)), float(np.exp(d.mean() + half)), n, df


def seeds_needed(x, y, margin: float = 0.0, most: int = 1000) -> int | None:
    """How many paired seeds would put the 95% interval of ``x - y`` clear of ``-margin`` at the spread
    the seeds so far show (their mean and standard deviation held); None where the mean sits on the
    margin (no number of seeds decides) or the spread is unknown (fewer than two pairs)."""
    from scipy import stats

    x, y = _pairs(x, y)
    if len(x) < 2:
        return None
    d = x - y
    gap, sd = abs(float(d.mean()) + margin), float(d.std(ddof=1))
    if sd == 0:
        return max(MIN_SEEDS, len(d))
    if gap == 0:
        return None
    for n in range(MIN_SEEDS, most + 1):
        if stats.t.ppf(0.5 + CI_LEVEL / 2, n - 1) * sd / math.sqrt(n) < gap:
            return n
    return None


def band(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% t-interval over the rows of ``Y`` (seeds × points), point by point (a figure's
    band; it collapses to the mean below :data:`MIN_SEEDS` seeds)."""
    from scipy import stats

    mean = Y.mean(0)
    n = Y.shape[0]
    if n < MIN_SEEDS:
        return mean, mean, mean
    half = stats.t.ppf(0.5 + CI_LEVEL / 2, n - 1) * Y.std(0, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half
