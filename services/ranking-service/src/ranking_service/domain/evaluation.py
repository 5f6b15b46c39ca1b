"""Back-test of a ranking against what happened next (pure numpy; scipy only for distributions).

For a run at T and a follow-up window (T, T+k]: Spearman's rho (with p-value and a seeded
percentile-bootstrap interval) between score and later offence count and later harm; the share of
later harm caused by the top bracket (bootstrap interval, and the largest share one person makes of
it); the precision of the top bracket (exact Clopper-Pearson interval); the AUC of the score for
"any later high-harm offence" (rank formula, equal to Mann-Whitney U / (n1 n0); bootstrap interval);
a decile (lift) table and a calibration table (observed later harm by score band).

``evaluate_many`` scores several rankings of ONE population on the SAME bootstrap resamples, so
that the model, the baselines (prior-offence count, random) and other models are compared on the
same people, with paired intervals for their differences.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ranking_service.domain.intervals import (
    auc_rows,
    clopper_pearson,
    pearson_rows,
    percentile,
    rank_rows,
    resamples,
)
from ranking_service.domain.scipy_stats import stats


def rankdata(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Average ranks (1-based), ties get their mean rank."""
    return np.asarray(stats().rankdata(x, method="average", axis=axis), dtype=np.float64)


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
    return rho, float(2 * stats().t.sf(abs(t), n - 2))


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


def _top_share(later_harm: np.ndarray, in_top: np.ndarray) -> float:
    total = float(later_harm.sum())
    return float(later_harm[in_top].sum()) / total if total > 0 else 0.0


def point_metrics(
    score: np.ndarray,
    in_top: np.ndarray,
    later_count: np.ndarray,
    later_harm: np.ndarray,
    positive: np.ndarray,
) -> dict[str, Any]:
    """The figures of one ranking without intervals (intervals: `evaluate_many`)."""
    rho_c, p_c = spearman(score, later_count.astype(np.float64))
    rho_h, p_h = spearman(score, later_harm)
    total = float(later_harm.sum())
    k = int(in_top.sum())
    hits = int((later_count[in_top] > 0).sum())
    return {
        "people": int(len(score)),
        "top_bracket": k,
        "later_offenders": int((later_count > 0).sum()),
        "later_harm_total": total,
        "spearman_count": {"rho": rho_c, "p_value": p_c},
        "spearman_harm": {"rho": rho_h, "p_value": p_h},
        "top_share_of_later_harm": _top_share(later_harm, in_top),
        "largest_person_share_of_later_harm": float(later_harm[in_top].max()) / total
        if total > 0 and k
        else 0.0,
        "top_precision_any_later_offence": hits / k if k else 0.0,
        "top_precision_ci95": list(clopper_pearson(hits, k)),
        "top_later_offenders": hits,
        "auc_high_harm": auc(score, positive.astype(bool)),
        "high_harm_positives": int(positive.sum()),
    }


def evaluate_many(
    scorers: dict[str, tuple[np.ndarray, np.ndarray]],
    later_count: np.ndarray,
    later_harm: np.ndarray,
    positive: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Figures of several rankings `{name: (score, in_top)}` of one population, each with
    bootstrap intervals from the same resamples, and (for every scorer after the first) the paired
    difference from the first scorer with its interval."""
    n = len(later_harm)
    names = list(scorers)
    out = {name: point_metrics(s, t, later_count, later_harm, positive) for name, (s, t) in scorers.items()}
    if n < 3:
        return out
    reps: dict[str, dict[str, list[np.ndarray]]] = {
        name: {"rho_h": [], "rho_c": [], "share": [], "auc": []} for name in names
    }
    pos = positive.astype(bool)
    count = later_count.astype(np.float64)
    for idx in resamples(n, n_boot, seed):
        rh, rc = rank_rows(later_harm[idx]), rank_rows(count[idx])
        harm_b = later_harm[idx]
        total = harm_b.sum(axis=1)
        for name, (score, in_top) in scorers.items():
            rs = rank_rows(score[idx])
            r = reps[name]
            r["rho_h"].append(pearson_rows(rs, rh))
            r["rho_c"].append(pearson_rows(rs, rc))
            with np.errstate(invalid="ignore", divide="ignore"):
                r["share"].append(np.where(total > 0, (harm_b * in_top[idx]).sum(axis=1) / total, np.nan))
            r["auc"].append(auc_rows(score[idx], pos[idx]))
    flat = {name: {k: np.concatenate(v) for k, v in r.items()} for name, r in reps.items()}
    boot = {
        "replicates": n_boot,
        "seed": seed,
        "method": "percentile, people resampled, shared by all rankings",
    }
    for name in names:
        f, m = flat[name], out[name]
        m["spearman_harm"]["ci95"] = percentile(f["rho_h"])
        m["spearman_count"]["ci95"] = percentile(f["rho_c"])
        m["top_share_ci95"] = percentile(f["share"])
        m["auc_ci95"] = percentile(f["auc"])
        m["bootstrap"] = boot
    ref = names[0]
    for name in names[1:]:
        diff: dict[str, Any] = {}
        for key, label in (
            ("share", "top_share_of_later_harm"),
            ("rho_h", "spearman_harm"),
            ("auc", "auc_high_harm"),
        ):
            d = flat[ref][key] - flat[name][key]
            diff[label] = {
                "difference": _point(out[ref], label) - _point(out[name], label),
                "ci95": percentile(d),
            }
        out[name]["versus_" + ref] = diff
    return out


def _point(m: dict[str, Any], label: str) -> float:
    v = m[label]
    return float(v["rho"] if isinstance(v, dict) else v)


def calibration(
    score: np.ndarray,
    later_count: np.ndarray,
    later_harm: np.ndarray,
    *,
    bands: int = 10,
    n_boot: int = 500,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Observed later harm by score band (quantile bands; tied scores stay in one band), with a
    bootstrap interval of the band's mean later harm and an exact interval of its share of people
    who offended again."""
    if len(score) == 0:
        return []
    edges = np.unique(np.quantile(score, np.linspace(0, 1, bands + 1)[1:-1]))
    band = np.searchsorted(edges, score, side="right")
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for b in np.unique(band)[::-1]:
        sel = band == b
        h, c = later_harm[sel], later_count[sel]
        m = len(h)
        means = h[rng.integers(0, m, size=(n_boot, m))].mean(axis=1) if m else np.zeros(0)
        again = int((c > 0).sum())
        rows.append(
            {
                "band": len(rows) + 1,
                "people": int(m),
                "score_min": float(score[sel].min()),
                "score_max": float(score[sel].max()),
                "mean_later_harm": float(h.mean()),
                "mean_later_harm_ci95": percentile(means),
                "share_offending_again": again / m,
                "share_offending_again_ci95": list(clopper_pearson(again, m)),
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
    """All figures for one back-test of one ranking; arrays are per scored person (same order)."""
    res = evaluate_many(
        {"model": (score, in_top)}, later_count, later_harm, later_high_harm, n_boot=n_boot, seed=seed
    )["model"]
    res["deciles"] = deciles(rank_order, later_harm, later_count)
    res["calibration"] = calibration(score, later_count, later_harm, n_boot=max(100, n_boot // 2), seed=seed)
    return res
