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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from ranking_service.domain.catalog import Band, ModelParams
from ranking_service.domain.ordering import rank_order as rank_order  # re-exported, as the two below
from ranking_service.domain.ordering import top_bracket_size as top_bracket_size
from ranking_service.domain.ordering import top_contributions as top_contributions
from ranking_service.domain.weights import UNMAPPED_BIT, domain_mask

CHUNK_ROWS = 1 << 16  # rows per chunk of the aggregation: its buffers stay in the CPU cache


@dataclass(frozen=True)
class OffenceArrays:
    """Offence rows coded as integers (days since 1970-01-01). Harm and domains per row, or per
    offence code (`code`, `code_harm`, `code_domains`, plus per-row `row_flags` bits such as domestic
    abuse), so a large re-rank need not hold a float64 column per row."""

    person: np.ndarray  # int32, index into the people axis
    n_people: int
    day: np.ndarray  # int32 offence date
    recorded: np.ndarray  # int32 recorded date
    harm: np.ndarray | None = None  # float64 weight (days) times outcome weight
    domains: np.ndarray | None = None  # uint16 domain bit mask (weight table | flags | UNMAPPED_BIT)
    victim: np.ndarray | None = None  # int64 victim code, -1 when unknown
    eligible: np.ndarray | None = None  # bool; False for excluded codes
    code: np.ndarray | None = None  # per row, index into code_harm / code_domains
    code_harm: np.ndarray | None = None
    code_domains: np.ndarray | None = None
    row_flags: np.ndarray | None = None  # per-row domain bits or-ed into code_domains

    def row_harm(self, rows: np.ndarray | slice | None = None) -> np.ndarray:
        """Harm of the rows (index array, boolean mask or slice; None: all)."""
        sel = slice(None) if rows is None else rows
        if self.harm is not None:
            return np.asarray(self.harm[sel], dtype=np.float64)
        assert self.code is not None and self.code_harm is not None, "harm or code_harm is required"
        return np.asarray(self.code_harm, dtype=np.float64).take(np.asarray(self.code[sel]).astype(np.intp))

    def row_domains(self, rows: np.ndarray | slice | None = None) -> np.ndarray:
        sel = slice(None) if rows is None else rows
        if self.domains is not None:
            return np.asarray(self.domains[sel]).astype(np.uint16)
        if self.code is None or self.code_domains is None:
            return np.zeros(len(self.person[sel]), dtype=np.uint16)
        dom = np.asarray(self.code_domains, dtype=np.uint16).take(np.asarray(self.code[sel]).astype(np.intp))
        if self.row_flags is not None:
            dom |= self.row_flags[sel].astype(np.uint16)
        return dom


@dataclass
class ScoreResult:
    """Per-person results; the per-row window and contributions are computed only when asked
    (`window`, `contribution`, or `rows_of` for some people), not by the aggregation."""

    score: np.ndarray  # float64 per person (0 when not scored)
    scored: np.ndarray  # bool per person: has an offence in the window
    components: dict[str, np.ndarray] = field(default_factory=dict)
    off: OffenceArrays | None = None
    as_of: int = 0
    params: ModelParams | None = None
    people_hit: np.ndarray | None = None  # high_harm_filter="people": people passing the filter
    _window: np.ndarray | None = None
    _contribution: np.ndarray | None = None

    @property
    def window(self) -> np.ndarray:
        """bool per row: in the scoring window (see `window_mask`)."""
        if self._window is None:
            assert self.off is not None and self.params is not None
            self._window = window_mask(self.off, self.as_of, self.params, self.people_hit)
        return self._window

    @property
    def contribution(self) -> np.ndarray:
        """float64 per row: the row's part of its person's score (0 outside the window)."""
        if self._contribution is None:
            assert self.off is not None and self.params is not None
            rows = np.flatnonzero(self.window)
            c = np.zeros(len(self.off.person), dtype=np.float64)
            c[rows] = row_contributions(self.off, rows, self.as_of, self.params)
            self._contribution = c
        return self._contribution

    def rows_of(self, people: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Window rows of the people in the bool mask `people`, with their contributions."""
        assert self.off is not None and self.params is not None
        person, step = self.off.person, CHUNK_ROWS
        found = [
            np.flatnonzero(people.take(np.asarray(person[a : a + step]).astype(np.intp))) + a
            for a in range(0, len(person), step)
        ]
        rows = np.concatenate(found) if found else np.zeros(0, dtype=np.intp)
        rows = rows[window_mask(self.off, self.as_of, self.params, self.people_hit, rows)]
        return rows, row_contributions(self.off, rows, self.as_of, self.params)


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


def window_mask(
    off: OffenceArrays,
    as_of: int,
    p: ModelParams,
    people_hit: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Rows known at `as_of`, dated in ``(as_of - lookback, as_of]``, passing the domain filter
    (of all rows, or of the row indices `rows`).

    The filter applies after mapping: an offence whose code has no weight (UNMAPPED_BIT) passes it,
    scored with the fallback weight and reported, so no offence is dropped for an unknown code."""
    sel = slice(None) if rows is None else rows
    day = off.day[sel]
    w = (off.recorded[sel] <= as_of) & (day <= as_of) & (day > as_of - p.lookback_days)
    if off.eligible is not None:
        w &= off.eligible[sel]
    if p.high_harm_filter != "none":
        hit = _hit(off, sel, p)
        if p.high_harm_filter == "offences":
            w &= hit
        else:
            if people_hit is None:
                base = window_mask(off, as_of, p.model_copy(update={"high_harm_filter": "none"}))
                hits = off.person[base & _hit(off, slice(None), p)]
                people_hit = np.bincount(hits, minlength=off.n_people) > 0
            w &= people_hit[off.person[sel]]
    return w


def _hit(off: OffenceArrays, sel: np.ndarray | slice, p: ModelParams) -> np.ndarray:
    return np.asarray((off.row_domains(sel) & np.uint16(domain_mask(p.domains) | UNMAPPED_BIT)) != 0)


def _decay(p: ModelParams) -> np.ndarray:
    """Recency factor by age in days, ``2 ** (-age / half_life)`` for ages 0 .. lookback - 1."""
    return np.exp(np.arange(p.lookback_days, dtype=np.float64) * (-math.log(2.0) / p.half_life_days))


def row_contributions(off: OffenceArrays, rows: np.ndarray, as_of: int, p: ModelParams) -> np.ndarray:
    """Contribution of each of the window rows `rows` to its person's score."""
    harm = off.row_harm(rows)
    if p.algorithm != "recency_harm":
        return harm
    return np.asarray(harm * _decay(p)[as_of - off.day[rows].astype(np.int64)])


@dataclass
class _Acc:
    """One worker's per-person accumulators and reusable chunk buffers."""

    count: np.ndarray
    total: np.ndarray
    ok: np.ndarray  # chunk buffers
    tmp: np.ndarray
    age: np.ndarray
    weighted: np.ndarray | None = None
    last: np.ndarray | None = None
    grav_max: np.ndarray | None = None
    pairs: list[np.ndarray] = field(default_factory=list)
    hit: np.ndarray | None = None  # people pass: bool per person


def _chunk_window(
    off: OffenceArrays, a: int, b: int, as_of: int, p: ModelParams, acc: _Acc, people_hit: np.ndarray | None
) -> np.ndarray:
    """bool per row of [a, b): in the window (see `window_mask`), in the worker's buffer; the age
    in days of each row (``as_of - day``) is left in ``acc.age``."""
    m = b - a
    ok, tmp, age = acc.ok[:m], acc.tmp[:m], acc.age[:m]
    np.subtract(as_of, off.day[a:b], out=age, dtype=np.int64)
    # day <= as_of and day > as_of - lookback, in one comparison: 0 <= age < lookback
    np.less(age.view(np.uint64), np.uint64(p.lookback_days), out=ok)
    np.less_equal(off.recorded[a:b], as_of, out=tmp)
    ok &= tmp
    if off.eligible is not None:
        ok &= off.eligible[a:b]
    if p.high_harm_filter == "offences" or (p.high_harm_filter == "people" and people_hit is None):
        ok &= _hit(off, slice(a, b), p)
    elif p.high_harm_filter == "people" and people_hit is not None:
        ok &= people_hit.take(off.person[a:b].astype(np.intp))
    return ok


def dense_span(span: int, rows: int) -> bool:
    """Whether a `bincount` over `span` people is cheaper than `add.at` for `rows` rows (the span's
    sums stay within 1 MB)."""
    return span <= min(16 * rows + 4096, 1 << 17)


class _People:
    """The people of one chunk's window rows, for sums per person: a `bincount` over the span of
    people the chunk touches when that span is short (rows grouped by person), else `add.at`.
    Either way each person's rows are added in row order."""

    def __init__(self, person: np.ndarray) -> None:
        self.lo = int(person.min()) if len(person) else 0
        self.span = int(person.max()) - self.lo + 1 if len(person) else 0
        self.dense = dense_span(self.span, len(person))
        self.idx = np.subtract(person, self.lo if self.dense else 0, dtype=np.intp)

    def add(self, out: np.ndarray, weights: np.ndarray | None = None) -> None:
        """``out[person[i]] += weights[i]`` (1 without weights) for every row i."""
        if not len(self.idx):
            return
        if self.dense:
            out[self.lo : self.lo + self.span] += np.bincount(self.idx, weights, minlength=self.span)
        else:
            np.add.at(out, self.idx, 1 if weights is None else weights)


def _aggregate(
    off: OffenceArrays,
    ranges: list[tuple[int, int]],
    as_of: int,
    p: ModelParams,
    people_hit: np.ndarray | None,
    hit_pass: bool,
) -> _Acc:
    n = off.n_people
    size = max((b - a for a, b in ranges), default=0)
    acc = _Acc(
        np.zeros(n, dtype=np.int64),
        np.zeros(n, dtype=np.float64),
        np.empty(size, bool),
        np.empty(size, bool),
        np.empty(size, np.int64),
    )
    if hit_pass:
        acc.hit = np.zeros(n, dtype=bool)
    elif p.algorithm == "recency_harm":
        acc.weighted = np.zeros(n, dtype=np.float64)
        decay = _decay(p)
    elif p.algorithm == "rfg":
        acc.last = np.full(n, np.iinfo(np.int32).min, dtype=np.int64)
        if p.gravity_basis != "sum":
            acc.grav_max = np.zeros(n, dtype=np.float64)
    code_harm = None if off.code_harm is None else np.asarray(off.code_harm, dtype=np.float64)
    for a, b in ranges:
        ok = _chunk_window(off, a, b, as_of, p, acc, people_hit)
        sel = np.flatnonzero(ok)  # one index array, then `take` per column (cheaper than compress)
        pw = off.person[a:b].take(sel)
        if acc.hit is not None:
            acc.hit[pw] = True
            continue
        who = _People(pw)
        who.add(acc.count)
        if off.harm is not None:
            hw = off.harm[a:b].take(sel).astype(np.float64, copy=False)
        else:
            assert off.code is not None and code_harm is not None, "harm or code_harm is required"
            hw = code_harm.take(off.code[a:b].take(sel).astype(np.intp))
        who.add(acc.total, hw)
        if acc.weighted is not None:
            f = decay.take(acc.age.take(sel))
            f *= hw
            who.add(acc.weighted, f)
        if acc.last is not None:
            np.maximum.at(acc.last, pw, off.day[a:b].take(sel).astype(np.int64))
        if acc.grav_max is not None:
            np.maximum.at(acc.grav_max, pw, hw)
        if p.use_victims and off.victim is not None and p.algorithm == "rfg":
            vic = off.victim[a:b].take(sel)
            known = vic >= 0
            acc.pairs.append((pw[known].astype(np.int64) << 32) | vic[known].astype(np.int64))
    return acc


def _run(
    off: OffenceArrays,
    as_of: int,
    p: ModelParams,
    people_hit: np.ndarray | None,
    hit_pass: bool,
    threads: int,
    chunk_rows: int,
) -> _Acc:
    """The aggregation in chunks on `threads` workers (numpy releases the GIL in the element-wise steps)."""
    n_rows = len(off.person)
    ranges = [(a, min(a + chunk_rows, n_rows)) for a in range(0, n_rows, chunk_rows)] or [(0, 0)]
    threads = max(1, min(threads, len(ranges)))
    if threads == 1:
        return _aggregate(off, ranges, as_of, p, people_hit, hit_pass)
    with ThreadPoolExecutor(threads) as ex:
        parts = list(
            ex.map(
                lambda i: _aggregate(off, ranges[i::threads], as_of, p, people_hit, hit_pass), range(threads)
            )
        )
    acc = parts[0]
    for o in parts[1:]:
        acc.count += o.count
        acc.total += o.total
        if acc.weighted is not None and o.weighted is not None:
            acc.weighted += o.weighted
        for mine, theirs in ((acc.last, o.last), (acc.grav_max, o.grav_max)):
            if mine is not None and theirs is not None:
                np.maximum(mine, theirs, out=mine)
        if acc.hit is not None and o.hit is not None:
            acc.hit |= o.hit
        acc.pairs.extend(o.pairs)
    return acc


def score(
    off: OffenceArrays, as_of: int, p: ModelParams, *, threads: int = 1, chunk_rows: int | None = None
) -> ScoreResult:
    """Score everyone: one pass over the rows in chunks of `chunk_rows` (two with the people
    filter), added per person straight into the totals; no per-row array outlives a chunk.

    The default chunk is CHUNK_ROWS rows, so that a chunk's temporaries stay in the CPU cache; each
    person's rows are added in row order within a chunk, so small inputs score exactly as a single
    whole-array `bincount` and larger ones differ from it by a few ulps at most."""
    n = off.n_people
    chunk_rows = chunk_rows or CHUNK_ROWS
    people_hit = None
    if p.high_harm_filter == "people":
        people_hit = _run(off, as_of, p, None, True, threads, chunk_rows).hit
    acc = _run(off, as_of, p, people_hit, False, threads, chunk_rows)
    count, total = acc.count, acc.total
    scored = count > 0
    components: dict[str, np.ndarray] = {"count": count, "harm": total}
    if p.algorithm == "total_harm":
        s: np.ndarray = total
    elif p.algorithm == "recency_harm":
        assert acc.weighted is not None
        s = acc.weighted
    else:
        assert acc.last is not None
        since = np.where(scored, as_of - acc.last, np.inf)
        grav = total if acc.grav_max is None else acc.grav_max
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
            pairs = np.sort(np.concatenate(acc.pairs)) if acc.pairs else np.zeros(0, dtype=np.int64)
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
    return ScoreResult(
        score=s, scored=scored, components=components, off=off, as_of=as_of, params=p, people_hit=people_hit
    )
