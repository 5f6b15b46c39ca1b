"""Fairness view: who is in the top bracket by recorded sex, age band and ethnicity."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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


def age_bands(dob: pa.Array | pa.ChunkedArray, as_of: date, recorded: list[str]) -> list[str]:
    """Vectorised `age_band` for many people (date32 dates of birth, nulls use `recorded`)."""
    d = np.asarray(pc.fill_null(dob.cast(pa.int32()), 0), dtype="int64").astype("datetime64[D]")
    missing = np.asarray(dob.is_null(), dtype=bool)
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    before = (as_of.month < month) | ((as_of.month == month) & (as_of.day < day))
    age = as_of.year - year - before.astype(np.int64)
    names = np.array([n for _, n in AGE_BANDS], dtype=object)
    idx = np.searchsorted(np.array([lo for lo, _ in AGE_BANDS]), age, side="right") - 1
    out = np.where(idx >= 0, names[np.clip(idx, 0, None)], "unknown")
    rec = np.array([r if r != "unknown" else "unknown" for r in recorded], dtype=object)
    return [str(v) for v in np.where(missing, rec, out).tolist()]


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
