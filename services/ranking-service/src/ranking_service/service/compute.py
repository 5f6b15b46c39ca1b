"""One ranking computation from stored inputs: deterministic, no database writes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlmodel import Session

from ranking_service import __version__
from ranking_service import repository as repo
from ranking_service.domain.catalog import ModelParams
from ranking_service.domain.fairness import age_bands, fairness_view
from ranking_service.domain.inputs import fingerprint, prepare
from ranking_service.domain.scoring import rank_order, score, top_bracket_size, top_contributions
from ranking_service.domain.weights import WeightEdition
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
    table = load_offences(s, imports)
    prep = prepare(table, edition, params)
    as_of_day = (as_of - EPOCH).days
    res = score(prep.arrays, as_of_day, params)
    order = rank_order(res.score, res.scored, res.components["harm"], prep.key_rank)
    window_rows = np.flatnonzero(res.window)
    fp = fingerprint(table, window_rows)
    k = top_bracket_size(len(order), top_n, top_share)
    # per-person provisional: some offence in the window has no weight in the edition
    fb_people = (
        np.bincount(prep.arrays.person[res.window & prep.fallback], minlength=prep.arrays.n_people) > 0
    )
    rows = top_contributions(prep.arrays.person, res.contribution, res.window, settings.breakdown_top)
    pos = np.full(prep.arrays.n_people, -1, dtype=np.int64)
    pos[order] = np.arange(len(order))
    contributions: list[list[dict[str, Any]]] = [[] for _ in order]
    day = prep.arrays.day
    for r, p in zip(rows.tolist(), prep.arrays.person[rows].tolist(), strict=True):
        contributions[int(pos[p])].append(
            {
                "offence_code": prep.codes[int(prep.code[r])],
                "offence_date": (EPOCH + timedelta(days=int(day[r]))).isoformat(),
                "harm": float(prep.arrays.harm[r]),
                "weighted": float(res.contribution[r]),
            }
        )
    comp_names = [c for c in res.components if c not in ("count", "harm")]
    comps = [{c: float(res.components[c][p]) for c in comp_names} for p in order.tolist()]
    # data quality and the provisional flag of the whole run
    unmapped_rows = int((res.window & prep.fallback).sum())
    unmapped_codes = {
        prep.codes[i]: int(n)
        for i, n in enumerate(np.bincount(prep.code[res.window & prep.fallback], minlength=len(prep.codes)))
        if n
    }
    reasons: list[str] = []
    newest = max((i.max_recorded_date for i in imports if i.max_recorded_date), default=None)
    if not len(window_rows):
        reasons.append("no_offences_in_window")
    if newest is None or newest < as_of - timedelta(days=settings.stale_after_days):
        reasons.append("stale_data")
    if len(window_rows) and unmapped_rows / len(window_rows) > settings.max_unmapped_share:
        reasons.append("unmapped_codes")
    total_rows = sum(i.rows_total for i in imports)
    rejected = sum(i.rows_rejected for i in imports)
    if total_rows and rejected / total_rows > 0.01:
        reasons.append("rejected_rows")
    quality = {
        "engine_version": __version__,
        "rows_loaded": int(table.num_rows),
        "rows_used": int(len(window_rows)),
        "unmapped_rows": unmapped_rows,
        "unmapped_codes": unmapped_codes,
        "fallback_days": params.fallback_days if params.fallback_days is not None else edition.fallback_days,
        "rows_rejected_in_imports": rejected,
        "newest_recorded_date": newest.isoformat() if newest else None,
    }
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
    )


def fairness_for(s: Session, comp: Computation) -> dict[str, Any]:
    """Recorded sex, age band (at the as-of date) and ethnicity of the scored people, vectorised."""
    people = repo.demographics(s)
    refs = pa.array(comp.people, pa.string())
    idx = pc.index_in(refs, people["records_id"])
    known = np.asarray(idx.is_valid(), dtype=bool)

    def labels(name: str) -> list[str]:
        col = pc.take(people[name], idx) if len(people) else pa.nulls(len(refs), pa.string())
        return [str(v) for v in pc.fill_null(col, "unknown").to_pylist()]

    dob = pc.take(people["date_of_birth"], idx) if len(people) else pa.nulls(len(refs), pa.date32())
    bands = age_bands(dob, comp.as_of, labels("age_band"))
    in_top = np.arange(len(comp.people)) < comp.top_size
    view = fairness_view({"sex": labels("sex"), "age_band": bands, "ethnicity": labels("ethnicity")}, in_top)
    view["people_without_demographics"] = int((~known).sum())
    return view
