"""Comparing two runs: entrants, leavers, big movers, Kendall's tau and Jaccard overlap."""

from __future__ import annotations

from typing import Any

import numpy as np

from ranking_service.domain.scipy_stats import stats


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def compare_runs(
    before: dict[str, int],
    after: dict[str, int],
    top_before: set[str],
    top_after: set[str],
    *,
    big_mover_places: int = 10,
    limit: int = 100,
) -> dict[str, Any]:
    """`before`/`after` map person ref -> rank (1 = highest). Big movers are people in both runs,
    in either top bracket, whose rank changed by at least `big_mover_places`."""
    common = sorted(set(before) & set(after))
    ra = np.array([before[p] for p in common], dtype=np.float64)
    rb = np.array([after[p] for p in common], dtype=np.float64)
    tau = float("nan")
    p_value = float("nan")
    if len(common) >= 2:
        res = stats().kendalltau(ra, rb)
        tau, p_value = float(res.statistic), float(res.pvalue)
    movers: list[dict[str, Any]] = []
    for p, a, b in zip(common, ra.tolist(), rb.tolist(), strict=True):
        if abs(a - b) >= big_mover_places and (p in top_before or p in top_after):
            movers.append(
                {"person_ref": p, "rank_before": int(a), "rank_after": int(b), "change": int(a - b)}
            )
    movers.sort(key=lambda m: (-abs(m["change"]), m["person_ref"]))
    entrants = sorted(top_after - top_before, key=lambda p: after[p])
    leavers = sorted(top_before - top_after, key=lambda p: before[p])
    return {
        "people_before": len(before),
        "people_after": len(after),
        "people_in_both": len(common),
        "kendall_tau": tau,
        "kendall_p_value": p_value,
        "top_jaccard": jaccard(top_before, top_after),
        "top_churn": (len(entrants) / len(top_after)) if top_after else 0.0,
        "entrants": [
            {"person_ref": p, "rank_after": after[p], "rank_before": before.get(p)} for p in entrants
        ][:limit],
        "leavers": [{"person_ref": p, "rank_before": before[p], "rank_after": after.get(p)} for p in leavers][
            :limit
        ],
        "big_movers": movers[:limit],
    }
