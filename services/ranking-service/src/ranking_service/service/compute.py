"""One ranking computation from stored inputs: deterministic, no database writes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session

from ranking_service import repository as repo
from ranking_service.domain.catalog import ModelParams
from ranking_service.domain.fairness import age_bands, fairness_view
from ranking_service.domain.inputs import PreparedInputs, fingerprint, prepare
from ranking_service.domain.scoring import rank_order, score, top_bracket_size, top_contributions
from ranking_service.domain.weights import WeightEdition
from ranking_service.engine import ENGINE_VERSION
from ranking_service.models import RankImport
from ranking_service.service.offence_store import load_offences
from ranking_service.settings import RankingSettings

EPOCH = date(1970, 1, 1)


@dataclass
class Computation:
    as_of: date
    params: ModelParams
    edition: WeightEdition
    imports: list[RankImport]
    fingerprint: str
    rows_used: int
    people: list[str]  # ranked person refs, best first
    scores: np.ndarray
    harm: np.ndarray
    counts: np.ndarray
    top_size: int
    entry_provisional: np.ndarray
    components: list[dict[str, float]]
    contributions: list[list[dict[str, Any]]]
    provisional_reasons: list[str] = field(default_factory=list)
    data_quality: dict[str, Any] = field(default_factory=dict)
    engine_version: str = ENGINE_VERSION

    def entry_rows(self, run_id: str) -> list[dict[str, Any]]:
        return [
            {
                "run_id": run_id,
                "person_ref": ref,
                "rank": i + 1,
                "score": float(self.scores[i]),
                "harm_total": float(self.harm[i]),
                "offence_count": int(self.counts[i]),
                "in_top": i < self.top_size,
                "provisional": bool(self.entry_provisional[i]),
                "components": json.dumps(self.components[i]),
                "contributions": json.dumps(self.contributions[i]),
            }
            for i, ref in enumerate(self.people)
        ]


def compute(
    s: Session,
    settings: RankingSettings,
    *,
    params: ModelParams,
    edition: WeightEdition,
    imports: list[RankImport],
    as_of: date,
    top_n: int | None,
    top_share: float | None,
) -> Computation:
    """Score and rank everyone; the per-offence breakdown (`contributions`) only for the people in
    the top bracket, the people a run shows (empty for the others): per-row work scales with them,
    not with the rows loaded."""
    table = load_offences(s, imports)
    prep = prepare(table, edition, params)
    as_of_day = (as_of - EPOCH).days
    res = score(prep.arrays, as_of_day, params)
    order = rank_order(res.score, res.scored, res.components["harm"], prep.key_rank)
    window_rows = np.flatnonzero(res.window)
    fp = fingerprint(table, prep.stored_rows(res.window))
    k = top_bracket_size(len(order), top_n, top_share)
    # per-person provisional: some offence in the window has no weight in the edition
    fb_people = (
        np.bincount(prep.arrays.person[res.window & prep.fallback], minlength=prep.arrays.n_people) > 0
    )
    # the breakdown of the people shown (the top bracket) only: per-row work for their rows alone
    shown = np.zeros(prep.arrays.n_people, dtype=bool)
    shown[order[:k]] = True
    shown_rows, shown_contrib = res.rows_of(shown)
    every = np.ones(len(shown_rows), dtype=bool)
    top = top_contributions(prep.arrays.person[shown_rows], shown_contrib, every, settings.breakdown_top)
    rows = shown_rows[top]
    weighted = dict(zip(rows.tolist(), shown_contrib[top].tolist(), strict=True))
    pos = np.full(prep.arrays.n_people, -1, dtype=np.int64)
    pos[order] = np.arange(len(order))
    contributions: list[list[dict[str, Any]]] = [[] for _ in order]
    day = prep.arrays.day
    harm = dict(zip(rows.tolist(), prep.arrays.row_harm(rows).tolist(), strict=True))
    for r, p in zip(rows.tolist(), prep.arrays.person[rows].tolist(), strict=True):
        contributions[int(pos[p])].append(
            {
                "offence_code": (code := prep.codes[int(prep.code[r])]),
                "offence_name": entry.label if (entry := edition.entries.get(code)) else None,
                "offence_date": (EPOCH + timedelta(days=int(day[r]))).isoformat(),
                "harm": harm[r],
                "weighted": weighted[r],
            }
        )
    comp_names = [c for c in res.components if c not in ("count", "harm")]
    comps = [{c: float(res.components[c][p]) for c in comp_names} for p in order.tolist()]
    quality, reasons = _quality(settings, prep, res.window, edition, params, imports, as_of)
    quality.update(
        {"rows_loaded": int(table.num_rows), "rows_used": int(len(window_rows)), **_ties(res.score[order], k)}
    )
    return Computation(
        as_of=as_of,
        params=params,
        edition=edition,
        imports=imports,
        fingerprint=fp,
        rows_used=int(len(window_rows)),
        people=[prep.people[i] for i in order.tolist()],
        scores=res.score[order],
        harm=res.components["harm"][order],
        counts=res.components["count"][order],
        top_size=k,
        entry_provisional=fb_people[order],
        components=comps,
        contributions=contributions,
        provisional_reasons=reasons,
        data_quality=quality,
        engine_version=ENGINE_VERSION,
    )


def _quality(
    settings: RankingSettings,
    prep: PreparedInputs,
    window: np.ndarray,
    edition: WeightEdition,
    params: ModelParams,
    imports: list[RankImport],
    as_of: date,
) -> tuple[dict[str, Any], list[str]]:
    """The data-quality report of a run and the reasons it is provisional.

    Every in-window offence whose code has no weight is counted per code (rows and people); it was
    scored with the fallback weight. A code whose Home Office class may hide serious harm (a class
    with rows of `serious_days` or more, or in a high-harm domain, or a class the edition does not
    know) makes the run provisional, as does an unmapped share above `max_unmapped_share`. Rows the
    imports rejected for their offence code are counted per code too, and make the run provisional
    when their class may hide serious harm."""
    person = prep.arrays.person
    rows_used = int(window.sum())
    un = window & prep.fallback
    unmapped: dict[str, Any] = {}
    for i in np.unique(prep.code[un]).tolist():
        sel = un & (prep.code == i)
        code = prep.codes[i]
        risk = edition.unmapped_risk(code, params.domains)
        unmapped[code] = {"rows": int(sel.sum()), "people": int(len(np.unique(person[sel]))), **risk}
    serious = sorted(c for c, u in unmapped.items() if u["possible_serious_harm"])
    ambiguous: dict[str, Any] = {}
    amb_codes = [i for i, c in enumerate(prep.codes) if edition.ambiguous(c)]
    if amb_codes:
        counts = np.bincount(prep.code[window], minlength=len(prep.codes))
        for i in amb_codes:
            if counts[i]:
                e = edition.entries[prep.codes[i]]
                days = [edition.entries[v].days for v in e.default_of]
                ambiguous[prep.codes[i]] = {
                    "rows": int(counts[i]),
                    "default_days": e.days,
                    "variant_days": [min(days), max(days)],
                }
    unmapped_rows = int(un.sum())
    reasons: list[str] = []
    newest = max((i.max_recorded_date for i in imports if i.max_recorded_date), default=None)
    if not rows_used:
        reasons.append("no_offences_in_window")
    if newest is None or newest < as_of - timedelta(days=settings.stale_after_days):
        reasons.append("stale_data")
    if serious:
        reasons.append("unmapped_codes_possible_serious_harm")
    if rows_used and unmapped_rows / rows_used > settings.max_unmapped_share:
        reasons.append("unmapped_codes")
    total_rows = sum(i.rows_total for i in imports)
    rejected = sum(i.rows_rejected for i in imports)
    if total_rows and rejected / total_rows > 0.01:
        reasons.append("rejected_rows")
    bad_codes, bad_serious = _rejected_codes(imports, edition, params)
    if bad_serious:
        reasons.append("rejected_codes_possible_serious_harm")
    quality = {
        "engine_version": ENGINE_VERSION,
        "weight_edition": edition.edition,
        "unmapped_rows": unmapped_rows,
        "unmapped_people": int(len(np.unique(person[un]))),
        "unmapped_codes": {c: u["rows"] for c, u in unmapped.items()},
        "unmapped_code_details": unmapped,
        "unmapped_codes_possible_serious_harm": serious,
        "fallback_days": params.fallback_days if params.fallback_days is not None else edition.fallback_days,
        "default_variant_codes": ambiguous,
        "rows_rejected_in_imports": rejected,
        "rejected_codes": bad_codes,
        "rejected_codes_possible_serious_harm": bad_serious,
        "newest_recorded_date": newest.isoformat() if newest else None,
    }
    return quality, reasons


def _rejected_codes(
    imports: list[RankImport], edition: WeightEdition, params: ModelParams
) -> tuple[dict[str, Any], list[str]]:
    """Rows of the run's imports rejected for their offence code, per code as spelt, with what the
    code's Home Office class may hide (judged as an unmapped code: an unreadable class cannot be ruled
    out), and the codes that may hide serious harm."""
    rows: dict[str, int] = {}
    for imp in imports:
        for code, n in json.loads(imp.rejected_codes or "{}").items():
            rows[code] = rows.get(code, 0) + int(n)
    out = {c: {"rows": n, **edition.unmapped_risk(c, params.domains)} for c, n in sorted(rows.items())}
    return out, [c for c, u in out.items() if u["possible_serious_harm"]]


def _ties(scores: np.ndarray, k: int) -> dict[str, Any]:
    """How far ties decide the top bracket: people sharing the k-th score inside and outside it."""
    out: dict[str, Any] = {"distinct_scores": int(len(np.unique(scores)))}
    if 0 < k <= len(scores):
        b = scores[k - 1]
        out["bracket_boundary"] = {
            "score": float(b),
            "tied_inside": int((scores[:k] == b).sum()),
            "tied_outside": int((scores[k:] == b).sum()),
            "decided_by_tie_break": bool(k < len(scores) and scores[k] == b),
        }
    return out


def demographic_groups(s: Session, refs: list[str], as_of: date) -> tuple[dict[str, list[str]], str, int]:
    """Recorded sex, age band (at `as_of`) and ethnicity of `refs` (vectorised), the fingerprint of
    those demographics (the people file's rows the fairness view rests on) and how many are unknown."""
    people = repo.demographics(s)
    arr = pa.array(refs, pa.string())
    idx = pc.index_in(arr, people["records_id"])
    known = np.asarray(idx.is_valid(), dtype=bool)

    def column(name: str, typ: pa.DataType) -> pa.Array:
        return pc.take(people[name], idx) if len(people) else pa.nulls(len(arr), typ)

    def labels(name: str) -> list[str]:
        return [str(v) for v in pc.fill_null(column(name, pa.string()), "unknown").to_pylist()]

    dob = column("date_of_birth", pa.date32())
    groups = {
        "sex": labels("sex"),
        "age_band": age_bands(dob, as_of, labels("age_band")),
        "ethnicity": labels("ethnicity"),
    }
    h = hashlib.sha256(f"people={len(refs)};".encode())
    dob_text = pc.fill_null(pc.cast(dob, pa.string()), "").to_pylist()
    rows = zip(refs, groups["sex"], groups["ethnicity"], labels("age_band"), dob_text, strict=True)
    h.update("\x1e".join("\x1f".join(r) for r in rows).encode())
    return groups, h.hexdigest(), int((~known).sum())


def fairness_for(s: Session, comp: Computation, settings: RankingSettings) -> tuple[dict[str, Any], str]:
    """The fairness view of a computed run and the fingerprint of the demographics behind it."""
    groups, fp, unknown = demographic_groups(s, comp.people, comp.as_of)
    in_top = np.arange(len(comp.people)) < comp.top_size
    view = fairness_view(groups, in_top, min_group=settings.fairness_min_group, alpha=settings.fairness_alpha)
    view["people_without_demographics"] = unknown
    view["people_fingerprint"] = fp
    return view, fp
