"""Fairness view: who is in the top bracket by recorded sex, age band and ethnicity, and whether
that differs from what chance alone gives.

For each group of a dimension: its share of the scored population and of the top bracket, their
ratio with an exact interval (Clopper-Pearson on the group's count among the k top places, over its
population share), and the range of that ratio chance alone gives: if the k top places went to k
people drawn at random from the scored population, the group's count would follow the
hypergeometric distribution (the exact permutation distribution of the labels). A group is flagged
when its count is outside what chance gives at the family-wise level `alpha` (two-sided exact
p-value, Holm's correction over every group of every dimension). A group with fewer than
`min_group` scored people (or under one expected top place) is reported as too small to say anything.

With later offending known (the back-test), ``outcome_view`` adds each group's share of later
offending and harm, the precision of its top-bracket members and its harm capture, with intervals.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ranking_service.domain.intervals import clopper_pearson, percentile
from ranking_service.domain.scipy_stats import stats

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


def _two_sided_p(dist: Any, x: int, lo: int, hi: int) -> float:
    """Exact two-sided p-value of x under `dist` (a frozen discrete scipy.stats distribution): the
    probability of outcomes no more likely than x."""
    support = np.arange(lo, hi + 1)
    pmf = dist.pmf(support)
    return float(min(1.0, pmf[pmf <= dist.pmf(x) * (1 + 1e-7)].sum()))


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as given)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adj = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adj[i] = running
    return adj


def fairness_view(
    groups: dict[str, list[str]], in_top: np.ndarray, *, min_group: int = 30, alpha: float = 0.05
) -> dict[str, Any]:
    """Per dimension and group: shares, ratio with interval, chance range, flag or a plain statement."""
    n = len(in_top)
    k = int(in_top.sum())
    out: dict[str, Any] = {
        "scored": n,
        "top_bracket": k,
        "method": (
            "ratio = share of the top bracket / share of the scored population; interval: exact "
            "(Clopper-Pearson) on the group's top places; chance range: 2.5-97.5% of the ratio if the top "
            f"places were drawn at random (hypergeometric, the exact permutation distribution); flagged when "
            f"outside chance at family-wise level {alpha} (Holm over all groups)"
        ),
        "min_group": min_group,
        "alpha": alpha,
        "dimensions": {},
    }
    tested: list[tuple[dict[str, Any], float]] = []
    for dim, labels in groups.items():
        arr = np.array(labels, dtype=object)
        rows = []
        for g in sorted(set(labels)):
            sel = arr == g
            pop = int(sel.sum())
            top = int((sel & in_top).sum())
            pop_share = pop / n if n else 0.0
            top_share = top / k if k else 0.0
            expected = k * pop_share
            row: dict[str, Any] = {
                "group": g,
                "population": pop,
                "population_share": pop_share,
                "top": top,
                "top_share": top_share,
                "expected_top_by_chance": expected,
                "representation_ratio": (top_share / pop_share) if pop_share and k else None,
                "selection_rate": top / pop if pop else 0.0,
                "flagged": False,
            }
            if pop < min_group or expected < 1 or k == 0:
                row["too_small"] = True
                row["statement"] = (
                    f"Too few people to say anything: {pop} scored, about {expected:.1f} expected in the top "
                    f"bracket by chance (at least {min_group} scored and one expected place needed)."
                )
            else:
                lo, hi = clopper_pearson(top, k)
                dist = stats().hypergeom(n, pop, k)
                c_lo, c_hi = dist.ppf(0.025), dist.ppf(0.975)
                row.update(
                    too_small=False,
                    ratio_ci95=[lo / pop_share, hi / pop_share],
                    chance_ratio_range=[float(c_lo) / k / pop_share, float(c_hi) / k / pop_share],
                    p_value=_two_sided_p(dist, top, max(0, k - (n - pop)), min(k, pop)),
                )
                tested.append((row, row["p_value"]))
            rows.append(row)
        out["dimensions"][dim] = rows
    for (row, _), adj in zip(tested, holm([p for _, p in tested]), strict=True):
        row["p_value_holm"] = adj
        row["flagged"] = adj < alpha
        side = "more" if row["top"] > row["expected_top_by_chance"] else "fewer"
        row["statement"] = (
            f"{row['top']} of {k} top places against {row['expected_top_by_chance']:.1f} expected: "
            f"{side} than chance alone gives (adjusted p {adj:.3g})."
            if row["flagged"]
            else f"{row['top']} of {k} top places against {row['expected_top_by_chance']:.1f} expected: "
            "within what chance alone gives."
        )
    out["flagged_groups"] = [
        {"dimension": dim, "group": r["group"]}
        for dim, rows in out["dimensions"].items()
        for r in rows
        if r["flagged"]
    ]
    return out


def outcome_view(
    groups: dict[str, list[str]],
    in_top: np.ndarray,
    later_count: np.ndarray,
    later_harm: np.ndarray,
    *,
    min_group: int = 30,
    n_boot: int = 500,
    seed: int = 0,
) -> dict[str, Any]:
    """Per group, from the back-test: share of later offenders and later harm, precision of its top
    members (exact interval) and harm capture (its top members' share of its later harm; bootstrap)."""
    offenders = later_count > 0
    all_off, all_harm = int(offenders.sum()), float(later_harm.sum())
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for dim, labels in groups.items():
        arr = np.array(labels, dtype=object)
        rows = []
        for g in sorted(set(labels)):
            sel = arr == g
            pop, top_sel = int(sel.sum()), sel & in_top
            top, hits = int(top_sel.sum()), int((offenders & top_sel).sum())
            h = later_harm[sel]
            row: dict[str, Any] = {
                "group": g,
                "population": pop,
                "later_offender_share": int((offenders & sel).sum()) / all_off if all_off else 0.0,
                "later_harm_share": float(h.sum()) / all_harm if all_harm else 0.0,
                "top": top,
                "top_precision": hits / top if top else None,
                "top_precision_ci95": list(clopper_pearson(hits, top)) if top else None,
                "harm_capture": float(later_harm[top_sel].sum()) / float(h.sum()) if h.sum() > 0 else None,
            }
            if pop >= 2 and h.sum() > 0:
                idx = rng.integers(0, pop, size=(n_boot, pop))
                t = in_top[sel][idx]
                hb = h[idx]
                with np.errstate(invalid="ignore", divide="ignore"):
                    cap = (hb * t).sum(axis=1) / hb.sum(axis=1)
                row["harm_capture_ci95"] = percentile(cap)
            if pop < min_group or top == 0:
                row["statement"] = (
                    f"Too few people to say anything about this group's outcomes ({pop} scored, {top} in the "
                    "top bracket)."
                )
            rows.append(row)
        out[dim] = rows
    return out
