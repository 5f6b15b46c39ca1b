"""Summary of the ranking history across run dates: for each figure, its value per run with the
run's own interval, the mean across runs with a t-interval, and the trend (least-squares slope per
year with its 95% interval; fewer than three runs: no trend, said plainly).

Back-test figures count only runs whose follow-up window is complete; stability figures (top-bracket
Jaccard and churn against the previous run) count every run that had a previous one.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np

from ranking_service.domain.intervals import mean_interval
from ranking_service.domain.scipy_stats import stats

MIN_TREND_RUNS = 3


def trend(days: list[int], values: list[float]) -> dict[str, Any]:
    """Slope per 365 days of `values` over `days` with its 95% interval (scipy's linregress)."""
    pairs = [(d, v) for d, v in zip(days, values, strict=True) if v is not None and not math.isnan(v)]
    if len(pairs) < MIN_TREND_RUNS or len({d for d, _ in pairs}) < 2:
        return {
            "runs": len(pairs),
            "slope_per_year": None,
            "ci95": None,
            "statement": "too few runs for a trend",
        }
    x = np.array([d for d, _ in pairs], dtype=np.float64) / 365.0
    y = np.array([v for _, v in pairs], dtype=np.float64)
    fit = stats().linregress(x, y)
    half = float(stats().t.ppf(0.975, len(pairs) - 2) * fit.stderr) if len(pairs) > 2 else float("nan")
    lo, hi = float(fit.slope) - half, float(fit.slope) + half
    if math.isnan(half):
        statement = "too few runs for an interval"
    elif lo > 0 or hi < 0:
        statement = "rising" if lo > 0 else "falling"
    else:
        statement = "no clear trend (the interval includes zero)"
    return {
        "runs": len(pairs),
        "slope_per_year": float(fit.slope),
        "ci95": [lo, hi],
        "p_value": float(fit.pvalue),
        "statement": statement,
    }


def _series(points: list[dict[str, Any]], get: Any) -> tuple[list[int], list[float], list[dict[str, Any]]]:
    days, values, rows = [], [], []
    for p in points:
        v = get(p)
        if v is None:
            continue
        value, ci = v
        days.append(date.fromisoformat(p["as_of"]).toordinal())
        values.append(value)
        rows.append({"run_id": p["run_id"], "as_of": p["as_of"], "value": value, "ci95": ci})
    return days, values, rows


def _ev(key: str, ci_key: str | None = None) -> Any:
    def get(p: dict[str, Any]) -> tuple[float, Any] | None:
        ev = p.get("evaluation")
        if not ev or not ev.get("follow_up_complete"):
            return None
        v = ev.get(key)
        if isinstance(v, dict):
            return float(v["rho"]), v.get("ci95")
        return None if v is None else (float(v), ev.get(ci_key) if ci_key else None)

    return get


def _baseline_gap(p: dict[str, Any]) -> tuple[float, Any] | None:
    ev = p.get("evaluation")
    if not ev or not ev.get("follow_up_complete") or not ev.get("versus_prior_offence_count"):
        return None
    d = ev["versus_prior_offence_count"]
    return float(d["difference"]), d.get("ci95")


FIGURES = {
    "spearman_harm": _ev("spearman_harm"),
    "top_share_of_later_harm": _ev("top_share_of_later_harm", "top_share_ci95"),
    "top_precision_any_later_offence": _ev("top_precision_any_later_offence", "top_precision_ci95"),
    "auc_high_harm": _ev("auc_high_harm", "auc_ci95"),
    "top_share_minus_prior_count_baseline": _baseline_gap,
    "top_jaccard_vs_previous": lambda p: (
        None if p.get("top_jaccard_vs_previous") is None else (float(p["top_jaccard_vs_previous"]), None)
    ),
    "top_churn_vs_previous": lambda p: (
        None if p.get("top_churn_vs_previous") is None else (float(p["top_churn_vs_previous"]), None)
    ),
}


def summarise(points: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary of history points (``service.analysis.history`` rows, as-of order)."""
    figures = {}
    for name, get in FIGURES.items():
        days, values, rows = _series(points, get)
        figures[name] = {"across_runs": mean_interval(values), "trend": trend(days, values), "per_run": rows}
    evaluated = sum(1 for p in points if p.get("evaluation") and p["evaluation"].get("follow_up_complete"))
    return {
        "runs": len(points),
        "evaluated_runs": evaluated,
        "first_as_of": points[0]["as_of"] if points else None,
        "last_as_of": points[-1]["as_of"] if points else None,
        "provisional_runs": sum(1 for p in points if p.get("provisional")),
        "method": (
            "per run: the run's latest back-test with its bootstrap or exact 95% interval; across runs: mean "
            "and t-interval; trend: least-squares slope per year with its 95% interval (at least "
            f"{MIN_TREND_RUNS} runs). Back-test figures count runs whose follow-up is complete."
        ),
        "figures": figures,
    }
