"""Scoring models over integer-coded offence arrays: pure numpy, no per-row Python.

Every function takes plain arrays (one element per offence row, or per person) and returns
arrays, so the same code serves the service, the back-test and the benchmark.

Models:
- total harm: ``H = sum(h_i)`` over offences dated in ``(t - W, t]``;
- recency-weighted harm: ``sum(h_i * 2 ** (-(t - d_i) / half_life))``;
- recency-frequency-gravity points: ``R(days since last) + F(count) + G(sum or max harm)``
  ``[+ V(distinct victims)]`` with configurable bands (``rfg_scale="bands"``), or continuous
  components on the same point scale (``rfg_scale="continuous"``, ``rfg@2``/``rfgv@2``):
  ``R = R_max 2^(-days/h)``, ``F = F_max min(1, ln(1+n)/ln(1+n_cap))``,
  ``G = G_max min(1, ln(1+H)/ln(1+H_cap))``, ``V = V_max min(1, (v-1)/(v_cap-1))``, so people are
  told apart by their actual recency, count and harm instead of by a handful of bands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ranking_service.domain.catalog import Band, ModelParams
from ranking_service.domain.weights import UNMAPPED_BIT, domain_mask


@dataclass(frozen=True)
class OffenceArrays:
    """Offence rows coded as integers. Days are days since 1970-01-01."""

    person: np.ndarray  # int32, index into the people axis
    n_people: int
    day: np.ndarray  # int32 offence date
    recorded: np.ndarray  # int32 recorded date
    harm: np.ndarray  # float64 weight (days) times outcome weight
    domains: np.ndarray  # uint16 domain bit mask (weight table | flags | UNMAPPED_BIT)
    victim: np.ndarray | None = None  # int64 victim code, -1 when unknown
    eligible: np.ndarray | None = None  # bool; False for excluded codes


@dataclass
class ScoreResult:
    score: np.ndarray  # float64 per person (0 when not scored)
    scored: np.ndarray  # bool per person: has an offence in the window
    contribution: np.ndarray  # float64 per row (0 outside the window)
    window: np.ndarray  # bool per row
    components: dict[str, np.ndarray] = field(default_factory=dict)


def band_at_least(x: np.ndarray, bands: tuple[Band, ...]) -> np.ndarray:
    """Points of the highest band whose threshold x reaches (0 below the first)."""
    t = np.array([b[0] for b in bands], dtype=np.float64)
    p = np.array([b[1] for b in bands], dtype=np.float64)
    idx = np.searchsorted(t, x, side="right") - 1
    return np.where(idx >= 0, p[np.clip(idx, 0, None)], 0.0)


def band_at_most(x: np.ndarray, bands: tuple[Band, ...]) -> np.ndarray:
    """Points of the first band whose threshold x does not exceed (0 beyond the last)."""
    t = np.array([b[0] for b in bands], dtype=np.float64)
    p = np.array([b[1] for b in bands], dtype=np.float64)
    idx = np.searchsorted(t, x, side="left")
    return np.where(idx < len(t), p[np.clip(idx, None, len(t) - 1)], 0.0)


def _log_scale(x: np.ndarray, cap: float) -> np.ndarray:
    """``min(1, ln(1+x)/ln(1+cap))``: 0 at 0, 1 from `cap` on, finer at the low end."""
    return np.asarray(np.minimum(1.0, np.log1p(x) / math.log1p(cap)))


def window_mask(off: OffenceArrays, as_of: int, p: ModelParams) -> np.ndarray:
    """Rows known at `as_of`, dated in ``(as_of - lookback, as_of]``, passing the domain filter.

    The filter applies after mapping: an offence whose code has no weight (UNMAPPED_BIT) passes it,
    scored with the fallback weight and reported, so no offence is dropped for an unknown code."""
    w = (off.recorded <= as_of) & (off.day <= as_of) & (off.day > as_of - p.lookback_days)
    if off.eligible is not None:
        w &= off.eligible
    if p.high_harm_filter != "none":
        hit = (off.domains.astype(np.uint16) & np.uint16(domain_mask(p.domains) | UNMAPPED_BIT)) != 0
        if p.high_harm_filter == "offences":
            w &= hit
        else:
            people = np.bincount(off.person[w & hit], minlength=off.n_people) > 0
            w &= people[off.person]
    return w


def score(off: OffenceArrays, as_of: int, p: ModelParams) -> ScoreResult:
    w = window_mask(off, as_of, p)
    n = off.n_people
    pw = off.person[w]
    count = np.bincount(pw, minlength=n)
    scored = count > 0
    contribution = np.zeros(len(off.person), dtype=np.float64)
    harm_w = off.harm[w]
    total = np.bincount(pw, weights=harm_w, minlength=n)
    components: dict[str, np.ndarray] = {"count": count, "harm": total}
    if p.algorithm == "total_harm":
        contribution[w] = harm_w
        s: np.ndarray = total
    elif p.algorithm == "recency_harm":
        age = (as_of - off.day[w]).astype(np.float64)
        weighted = harm_w * np.exp(age * (-math.log(2.0) / p.half_life_days))
        contribution[w] = weighted
        s = np.bincount(pw, weights=weighted, minlength=n)
    else:
        contribution[w] = harm_w
        last = np.full(n, np.iinfo(np.int32).min, dtype=np.int64)
        np.maximum.at(last, pw, off.day[w].astype(np.int64))
        since = np.where(scored, as_of - last, np.inf)
        if p.gravity_basis == "sum":
            grav = total
        else:
            grav = np.zeros(n, dtype=np.float64)
            np.maximum.at(grav, pw, harm_w)
        r: np.ndarray
        f: np.ndarray
        g: np.ndarray
        if p.rfg_scale == "continuous":
            r = p.recency_max_points * np.exp2(-np.where(scored, since, 0.0) / p.recency_half_life_days)
            f = p.frequency_max_points * _log_scale(count.astype(np.float64), p.frequency_cap)
            g = p.gravity_max_points * _log_scale(np.maximum(grav, 0.0), p.gravity_cap_days)
        else:
            r = band_at_most(since, p.recency_bands)
            f = band_at_least(count.astype(np.float64), p.frequency_bands)
            g = band_at_least(grav, p.gravity_bands)
        s = r + f + g
        components.update(recency_points=r, frequency_points=f, gravity_points=g)
        if p.use_victims and off.victim is not None:
            vic = off.victim[w]
            known = vic >= 0
            pairs = np.sort((pw[known].astype(np.int64) << 32) | vic[known].astype(np.int64))
            pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs
            distinct = np.bincount((pairs >> 32).astype(np.int64), minlength=n)
            v: np.ndarray
            if p.rfg_scale == "continuous":
                extra = np.maximum(distinct.astype(np.float64) - 1.0, 0.0)
                v = p.victim_max_points * np.minimum(1.0, extra / max(p.victim_cap - 1.0, 1.0))
            else:
                v = band_at_least(distinct.astype(np.float64), p.victim_bands)
            s = s + v
            components.update(victim_points=v, distinct_victims=distinct)
        s = np.where(scored, s, 0.0)
    return ScoreResult(score=s, scored=scored, contribution=contribution, window=w, components=components)


def rank_order(
    score: np.ndarray, scored: np.ndarray, secondary: np.ndarray, key_rank: np.ndarray
) -> np.ndarray:
    """Scored people in rank order: score desc, then secondary desc, then key ascending."""
    idx = np.flatnonzero(scored)
    order = np.lexsort((key_rank[idx], -secondary[idx], -score[idx]))
    return idx[order]


def top_bracket_size(n_scored: int, top_n: int | None, top_share: float | None) -> int:
    if top_share is not None:
        return min(n_scored, int(math.ceil(top_share * n_scored)))
    if top_n is not None:
        return min(n_scored, top_n)
    return 0


def top_contributions(person: np.ndarray, contribution: np.ndarray, window: np.ndarray, k: int) -> np.ndarray:
    """Row indices of each person's k largest contributions (ties: earlier row first)."""
    rows = np.flatnonzero(window & (contribution > 0))
    if len(rows) == 0 or k <= 0:
        return rows[:0]
    order = np.lexsort((rows, -contribution[rows], person[rows]))
    rows = rows[order]
    p = person[rows]
    start = np.r_[True, p[1:] != p[:-1]]
    group_start = np.maximum.accumulate(np.where(start, np.arange(len(p)), 0))
    pos = np.arange(len(p)) - group_start
    return rows[pos < k]
