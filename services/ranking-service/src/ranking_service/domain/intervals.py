"""Intervals: exact binomial (Clopper-Pearson), seeded percentile bootstrap of several statistics on
the same resamples (so differences between scorers are paired), and the t-interval of a mean."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

from ranking_service.domain.scipy_stats import stats

LEVEL = 0.95


def clopper_pearson(x: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Exact two-sided interval of a binomial proportion x/n (as scipy's binomtest, method exact)."""
    if n <= 0:
        return float("nan"), float("nan")
    alpha = 1.0 - level
    lo = 0.0 if x == 0 else float(stats().beta.ppf(alpha / 2, x, n - x + 1))
    hi = 1.0 if x == n else float(stats().beta.ppf(1 - alpha / 2, x + 1, n - x))
    return lo, hi


def resamples(n: int, n_boot: int, seed: int, max_cells: int = 4_000_000) -> Iterator[np.ndarray]:
    """Index matrices (b, n) of people drawn with replacement, in chunks, from one seeded RNG."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, max_cells // max(n, 1)))
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        yield rng.integers(0, n, size=(b, n))
        done += b


def percentile(values: np.ndarray, level: float = LEVEL) -> list[float]:
    v = values[~np.isnan(values)]
    if len(v) == 0:
        return [float("nan"), float("nan")]
    a = (1.0 - level) / 2
    return [float(np.quantile(v, a)), float(np.quantile(v, 1 - a))]


def bootstrap(
    n: int,
    statistics: dict[str, Callable[[np.ndarray], np.ndarray]],
    *,
    n_boot: int,
    seed: int,
) -> dict[str, np.ndarray]:
    """Each statistic evaluated on the same `n_boot` resamples; a statistic maps an index matrix
    (b, n) to b values."""
    out: dict[str, list[np.ndarray]] = {k: [] for k in statistics}
    for idx in resamples(n, n_boot, seed):
        for k, fn in statistics.items():
            out[k].append(np.asarray(fn(idx), dtype=np.float64))
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


def mean_interval(values: list[float] | np.ndarray, level: float = LEVEL) -> dict[str, object]:
    """Mean and its t-interval across independent values (e.g. one figure per run date)."""
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=np.float64)
    if len(v) == 0:
        return {"n": 0, "mean": None, "ci95": None}
    if len(v) == 1:
        return {"n": 1, "mean": float(v[0]), "ci95": None}
    half = float(stats().t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    m = float(v.mean())
    return {"n": int(len(v)), "mean": m, "ci95": [m - half, m + half]}


def rank_rows(x: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis (ties share their mean rank)."""
    return np.asarray(stats().rankdata(x, method="average", axis=-1), dtype=np.float64)


def pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((a * b).sum(axis=-1) / den)


def auc_rows(score: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """AUC (rank-sum formula, ties one half) of each row; NaN where a row lacks either class."""
    r = rank_rows(score)
    n1 = positive.sum(axis=-1).astype(np.float64)
    n0 = positive.shape[-1] - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(((r * positive).sum(axis=-1) - n1 * (n1 + 1) / 2.0) / (n1 * n0))
