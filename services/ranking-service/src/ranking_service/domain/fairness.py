"""Fairness view: who is in the top bracket by recorded sex, age band and ethnicity."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

AGE_BANDS = ((0, "under 18"), (18, "18-24"), (25, "25-34"), (35, "35-44"), (45, "45-54"), (55, "55+"))


def age_band(dob: date | None, as_of: date, recorded_band: str | None = None) -> str:
    if dob is None:
        return recorded_band or "unknown"
    age = as_of.year - dob.year - ((as_of.month, as_of.day) < (dob.month, dob.day))
    label = "unknown"
    for lo, name in AGE_BANDS:
        if age >= lo:
            label = name
    return label


def fairness_view(groups: dict[str, list[str]], in_top: np.ndarray) -> dict[str, Any]:
    """Per dimension and group: scored population, top bracket, shares and their ratio."""
    n = len(in_top)
    k = int(in_top.sum())
    out: dict[str, Any] = {"scored": n, "top_bracket": k, "dimensions": {}}
    for dim, labels in groups.items():
        arr = np.array(labels, dtype=object)
        rows = []
        for g in sorted(set(labels)):
            sel = arr == g
            pop = int(sel.sum())
            top = int((sel & in_top).sum())
            pop_share = pop / n if n else 0.0
            top_share = top / k if k else 0.0
            rows.append(
                {
                    "group": g,
                    "population": pop,
                    "population_share": pop_share,
                    "top": top,
                    "top_share": top_share,
                    "representation_ratio": (top_share / pop_share) if pop_share else None,
                    "selection_rate": top / pop if pop else 0.0,
                }
            )
        out["dimensions"][dim] = rows
    return out
