"""Intervals over seeds, the one rule every table and figure uses.

The mean of per-seed values with its 95% confidence interval: a t-interval (Student's t with n - 1
degrees of freedom, ``scipy.stats.t``) where the seeds are few (n < :data:`BCA_FROM`), else the BCa
bootstrap (``scipy.stats.bootstrap``, bias-corrected and accelerated, :data:`BOOTSTRAP` resamples,
seeded). A single seed has no interval (nan, nan); values that do not vary have a zero-width one.
"""

from __future__ import annotations

import numpy as np

CI_LEVEL = 0.95
#: from this many seeds on, the BCa bootstrap; below it, the t-interval (a bootstrap over 3 or 5 seeds
#: has too few distinct resamples to be trusted)
BCA_FROM = 10
BOOTSTRAP = 2000


def interval(values, seed: int = 0) -> tuple[float, float, float]:
    """``(mean, low, high)`` of the finite ``values`` (one per seed), as the module doc says."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return np.nan, np.nan, np.nan
    m = float(x.mean())
    if len(x) < 2:
        return m, np.nan, np.nan
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


def method_name(n: int) -> str:
    """How :func:`interval` takes the interval of ``n`` seeds (for captions and tables)."""
    if n < 2:
        return "none (one seed)"
    return "t-interval" if n < BCA_FROM else f"BCa bootstrap ({BOOTSTRAP} resamples)"


def band(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% t-interval over the rows of ``Y`` (seeds × points), point by point (a figure's
    band; the interval collapses to the mean for one seed)."""
    from scipy import stats

    mean = Y.mean(0)
    n = Y.shape[0]
    if n < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.5 + CI_LEVEL / 2, n - 1) * Y.std(0, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half
