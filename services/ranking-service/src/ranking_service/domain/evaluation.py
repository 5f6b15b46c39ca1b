"""Back-test of a ranking against what happened next (pure numpy; scipy only for distributions).

For a run at T and a follow-up window (T, T+k]: Spearman's rho (with p-value and a seeded
percentile-bootstrap interval) between score and later offence count and later harm; the share of
later harm caused by the top bracket; the AUC of the score for "any later high-harm offence"
(rank formula, equal to Mann-Whitney U / (n1 n0)); and a decile (lift) table.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats


def rankdata(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Average ranks (1-based), ties get their mean rank."""
    return np.asarray(stats.rankdata(x, method="average", axis=axis), dtype=np.float64)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((a * b).sum(axis=-1) / den)


def spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Spearman's rho and its two-sided p-value (t approximation, as scipy.stats.spearmanr)."""
    n = len(x)
    if n < 3:
        return float("nan"), float("nan")
    rho = float(_pearson_rows(rankdata(x), rankdata(y)))
    if math.isnan(rho):
        return rho, float("nan")
    rho = max(-1.0, min(1.0, rho))
    if abs(rho) == 1.0:
        return rho, 0.0
    t = rho * math.sqrt((n - 2) / ((1.0 - rho) * (1.0 + rho)))
    return rho, float(2 * stats.t.sf(abs(t), n - 2))


def bootstrap_spearman_ci(
    x: np.ndarray, y: np.ndarray, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of Spearman's rho; resamples people with a seeded RNG."""
    n = len(x)
    if n < 3:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, 4_000_000 // n))
    out: list[np.ndarray] = []
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        idx = rng.integers(0, n, size=(b, n))
        out.append(_pearson_rows(rankdata(x[idx], axis=1), rankdata(y[idx], axis=1)))
        done += b
    rhos = np.concatenate(out)
    rhos = rhos[~np.isnan(rhos)]
    if len(rhos) == 0:
        return float("nan"), float("nan")
    alpha = (1 - level) / 2
    return float(np.quantile(rhos, alpha)), float(np.quantile(rhos, 1 - alpha))


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum formula (ties count one half)."""
    n1 = int(positive.sum())
    n0 = len(score) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(score)
    return float((r[positive].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def deciles(score_order: np.ndarray, later_harm: np.ndarray, later_count: np.ndarray) -> list[dict[str, Any]]:
    """Ten groups by rank (best first): people, later harm, its share and lift."""
    total = float(later_harm.sum())
    rows = []
    for i, grp in enumerate(np.array_split(score_order, 10)):
        if len(grp) == 0:
            continue
        share = float(later_harm[grp].sum()) / total if total > 0 else 0.0
        pop = len(grp) / len(score_order)
        rows.append(
            {
                "decile": i + 1,
                "people": int(len(grp)),
                "later_harm": float(later_harm[grp].sum()),
                "later_offenders": int((later_count[grp] > 0).sum()),
                "harm_share": share,
                "lift": share / pop if pop > 0 else 0.0,
            }
        )
    return rows


def evaluate(
    score: np.ndarray,
    rank_order: np.ndarray,
    in_top: np.ndarray,
    later_count: np.ndarray,
    later_harm: np.ndarray,
    later_high_harm: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """All figures for one back-test; arrays are per scored person (same order)."""
    rho_c, p_c = spearman(score, later_count.astype(np.float64))
    rho_h, p_h = spearman(score, later_harm)
    ci_c = bootstrap_spearman_ci(score, later_count.astype(np.float64), n_boot=n_boot, seed=seed)
    ci_h = bootstrap_spearman_ci(score, later_harm, n_boot=n_boot, seed=seed + 1)
    total = float(later_harm.sum())
    positive = later_high_harm.astype(bool)
    return {
        "people": int(len(score)),
        "top_bracket": int(in_top.sum()),
        "later_offenders": int((later_count > 0).sum()),
        "later_harm_total": total,
        "spearman_count": {"rho": rho_c, "p_value": p_c, "ci95": list(ci_c)},
        "spearman_harm": {"rho": rho_h, "p_value": p_h, "ci95": list(ci_h)},
        "top_share_of_later_harm": float(later_harm[in_top].sum()) / total if total > 0 else 0.0,
        "top_precision_any_later_offence": float((later_count[in_top] > 0).mean()) if in_top.any() else 0.0,
        "auc_high_harm": auc(score, positive),
        "high_harm_positives": int(positive.sum()),
        "bootstrap": {"replicates": n_boot, "seed": seed, "method": "percentile"},
        "deciles": deciles(rank_order, later_harm, later_count),
    }
