"""Ranking runs: production, shadow and dry; stored, reproducible, announced through the outbox.

A ranking never decides anything by itself (Data Protection Act 2018 s.49 and s.50): a candidate
event only asks for a human suitability assessment downstream.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from hhpu_shared import clock
from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import NotFound, ValidationProblem, field_error, validation_errors
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.ranking import CandidateIdentified, Contribution, RankingRunCompleted
from hhpu_shared.events.envelope import SubjectRef
from hhpu_shared.protection import marks
from hhpu_shared.uow import UnitOfWork
from pydantic import ValidationError

from ranking_service import repository as repo
from ranking_service.domain.catalog import ModelParams, resolve, split_ref
from ranking_service.domain.compare import compare_runs
from ranking_service.domain.weights import WeightEdition, load_edition
from ranking_service.models import RankImport, RankPerson, RankRun
from ranking_service.service.compute import Computation, compute, demographic_groups, fairness_for
from ranking_service.settings import RankingSettings

PURPOSE = "harm ranking of recorded offending to propose people for human assessment (HHPU)"


@dataclass
class RunRequest:
    kind: str = "production"  # production | shadow | dry
    model: str | None = None
    params: dict[str, Any] | None = None
    as_of: date | None = None
    top_n: int | None = None
    top_share: float | None = None
    weight_edition: str | None = None
    trigger: str = "on_demand"
    schedule_key: str | None = None
    emit_candidates: bool = True  # False: seed history (demo, back-fill) without proposing anyone
    justification: str | None = None  # a member of staff's X-Justification; None: the unit's purpose


@dataclass
class DryRun:
    """A computed, unsaved run (kind "dry")."""

    computation: Computation
    model_ref: str
    comparison: dict[str, Any]


def _resolve(settings: RankingSettings, req: RunRequest) -> tuple[str, ModelParams]:
    ref = req.model or (settings.production_model if req.kind != "shadow" else "")
    if not ref:
        raise ValidationProblem([field_error("model", "required", "a shadow run names its candidate model")])
    name, version = split_ref(ref)
    try:
        return f"{name}@{version}", resolve(ref, req.params)
    except KeyError as exc:
        raise ValidationProblem([field_error("model", "unknown_model", f"no model {ref}")]) from exc
    except ValidationError as exc:
        errs = [{**e, "field": f"params.{e['field']}"} for e in validation_errors(exc)]
        raise ValidationProblem(errs) from exc


def _edition(settings: RankingSettings, name: str | None) -> WeightEdition:
    try:
        return load_edition(name or settings.weight_edition, settings.weights_dir)
    except KeyError as exc:
        raise ValidationProblem(
            [field_error("weight_edition", "unknown_edition", f"no weight edition {name}")]
        ) from exc


def execute_run(uow: UnitOfWork, settings: RankingSettings, req: RunRequest) -> RankRun | DryRun:
    s = uow.session
    ref, params = _resolve(settings, req)
    edition = _edition(settings, req.weight_edition)
    as_of = req.as_of or clock.today()
    top_n, top_share = req.top_n, req.top_share
    if top_n is None and top_share is None:
        top_n, top_share = settings.top_n, settings.top_share
    imports = repo.offence_imports(s)
    comp = compute(
        s,
        settings,
        params=params,
        edition=edition,
        imports=imports,
        as_of=as_of,
        top_n=top_n,
        top_share=top_share,
    )
    prev = repo.previous_production(s, as_of)
    comparison: dict[str, Any] = {}
    if prev is not None:
        before, top_before = repo.rank_map(s, prev.id)
        after = {p: i + 1 for i, p in enumerate(comp.people)}
        comparison = compare_runs(
            before,
            after,
            top_before,
            set(comp.people[: comp.top_size]),
            big_mover_places=settings.big_mover_places,
        )
        comparison["previous_run_id"] = prev.id
    if req.kind == "dry":
        return DryRun(comp, ref, comparison)
    why = req.justification or PURPOSE
    name, version = split_ref(ref)
    fairness, people_fp = fairness_for(s, comp, settings)
    run = RankRun(
        id=f"run-{uuid.uuid4().hex[:16]}",
        kind=req.kind,
        trigger=req.trigger,
        schedule_key=req.schedule_key,
        model=name,
        model_version=version,
        params=params.model_dump_json(),
        weight_edition=edition.edition,
        weight_checksum=edition.checksum,
        engine_version=comp.engine_version,
        as_of=as_of,
        import_ids=json.dumps([i.id for i in comp.imports]),
        input_files=json.dumps(input_files(comp.imports + repo.people_imports(s))),
        fingerprint=comp.fingerprint,
        people_fingerprint=people_fp,
        rows_used=comp.rows_used,
        people_scored=len(comp.people),
        top_n=top_n if top_share is None else None,
        top_share=top_share,
        top_bracket_size=comp.top_size,
        provisional=bool(comp.provisional_reasons),
        provisional_reasons=json.dumps(comp.provisional_reasons),
        data_quality=json.dumps(comp.data_quality),
        fairness=json.dumps(fairness),
        comparison=json.dumps(comparison),
        previous_run_id=prev.id if prev else None,
        created_by=uow.principal.subject,
    )
    repo.add_run(s, run, comp.entry_rows(run.id))
    uow.audit(
        AuditOperation.COMBINE,
        subject_type="ranking_run",
        subject_id=run.id,
        justification=why,
        detail={"kind": run.kind, "model": ref, "people": run.people_scored},
    )
    # A back-dated run (as-of older than the staleness limit) serves evaluation, not today's proposals.
    current = as_of >= clock.today() - timedelta(days=settings.stale_after_days)
    proposes = current and req.emit_candidates
    if run.kind == "production" and proposes:
        run.candidates_emitted = _emit_candidates(uow, settings, run, comp, why)
    # Its big movers become review items on the next meeting: a proposal too, so only from such a run.
    movers = tuple(m["person_ref"] for m in comparison.get("big_movers", [])[:50]) if proposes else ()
    held = marks(s, movers)  # restricted or erased: not proposed for review either
    movers = tuple(m for m in movers if m not in held)
    uow.emit(
        RankingRunCompleted(
            run_id=run.id,
            kind=run.kind,
            model=name,
            model_version=version,
            weight_edition=edition.edition,
            as_of=as_of,
            people_scored=run.people_scored,
            top_bracket_size=run.top_bracket_size,
            provisional=run.provisional,
            fingerprint=run.fingerprint,
            big_movers=movers,
        ),
        aggregate_id=run.id,
    )
    s.add(run)
    return run


def input_files(imports: list[RankImport]) -> list[dict[str, Any]]:
    """Every file behind a run (offences and people), by its SHA-256."""
    return [
        {
            "import_id": i.id,
            "kind": i.kind,
            "sha256": i.sha256,
            "filename": i.filename,
            "rows": i.rows_accepted,
        }
        for i in imports
    ]


def _emit_candidates(
    uow: UnitOfWork, settings: RankingSettings, run: RankRun, comp: Computation, why: str = PURPOSE
) -> int:
    """One candidate event per top-bracket person not managed and not under assessment."""
    s = uow.session
    top = comp.people[: comp.top_size]
    status = repo.statuses(s, top)
    people = repo.people(s, top)
    quiet_since = datetime.combine(
        run.as_of - timedelta(days=settings.decline_quiet_days), datetime.min.time()
    )
    held = marks(s, top)  # restricted or erased: not processed further
    emitted = 0
    for i, ref in enumerate(top):
        if ref in held:
            continue
        st = status.get(ref)
        if st is not None and (st.managed or st.open_assessment_id):
            continue
        if st is not None and st.last_decision == "decline" and st.last_decided_at is not None:
            decided = st.last_decided_at.replace(tzinfo=None)
            if decided >= quiet_since:
                continue
        data = CandidateIdentified(
            run_id=run.id,
            person_ref=ref,
            rank=i + 1,
            score=float(comp.scores[i]),
            as_of=run.as_of,
            provisional=run.provisional or bool(comp.entry_provisional[i]),
            top_contributions=tuple(Contribution(**c) for c in comp.contributions[i]),
            subject=_details(people.get(ref)),
        )
        env = uow.emit(data, aggregate_id=run.id, subject=SubjectRef(type="person", id=ref))
        entry = repo.entry(s, run.id, ref)
        if entry is not None:
            entry.candidate_event_id = str(env.event_id)
            s.add(entry)
        uow.audit(
            AuditOperation.DISCLOSE,
            subject_type="person",
            subject_id=ref,
            justification=why,
            recipient="case-service (suitability assessment)",
            detail={"run_id": run.id, "rank": i + 1},
        )
        emitted += 1
    return emitted


def people_in_differences(diffs: list[dict[str, Any]]) -> list[str]:
    """The person references a reproduction's differences name (stored and recomputed sides)."""
    out: list[str] = []
    for d in diffs:
        for side in (d.get("stored"), d.get("recomputed")):
            if isinstance(side, str):
                out.append(side)
            elif isinstance(side, list) and side and isinstance(side[0], str):
                out.append(side[0])
    return out


def _details(p: RankPerson | None) -> PersonDetails | None:
    if p is None or not p.given_name or not p.family_name:
        return None
    return PersonDetails(
        given_name=p.given_name,
        family_name=p.family_name,
        middle_names=p.middle_names,
        date_of_birth=p.date_of_birth,
        records_id=p.records_id,
    )


def get_run(uow: UnitOfWork, run_id: str) -> RankRun:
    run = repo.get_run(uow.session, run_id)
    if run is None:
        raise NotFound(f"no ranking run {run_id}")
    return run


def list_runs(uow: UnitOfWork, kind: str | None, limit: int, offset: int) -> tuple[list[RankRun], int]:
    """Stored runs, newest first."""
    return repo.list_runs(uow.session, kind, limit, offset)


def reproduce(uow: UnitOfWork, settings: RankingSettings, run_id: str) -> dict[str, Any]:
    """Recompute a stored run from its stored inputs and parameters; compare with what was stored."""
    s = uow.session
    run = get_run(uow, run_id)
    params = ModelParams.model_validate_json(run.params)
    edition = _edition(settings, run.weight_edition)
    ids = json.loads(run.import_ids)
    imports = repo.offence_imports(s, ids)
    missing = sorted(set(ids) - {i.id for i in imports})
    comp = compute(
        s,
        settings,
        params=params,
        edition=edition,
        imports=imports,
        as_of=run.as_of,
        top_n=run.top_n,
        top_share=run.top_share,
    )
    stored = repo.entries(s, run.id)
    diffs = []
    for i, e in enumerate(stored):
        if i >= len(comp.people):
            diffs.append({"rank": e.rank, "stored": e.person_ref, "recomputed": None})
        elif (e.person_ref, e.score, e.in_top) != (comp.people[i], float(comp.scores[i]), i < comp.top_size):
            diffs.append(
                {
                    "rank": e.rank,
                    "stored": [e.person_ref, e.score],
                    "recomputed": [comp.people[i], float(comp.scores[i])],
                }
            )
    if len(comp.people) > len(stored):
        diffs.append({"rank": len(stored) + 1, "stored": None, "recomputed": comp.people[len(stored)]})
    same_fp = comp.fingerprint == run.fingerprint
    _, people_fp, _ = demographic_groups(s, comp.people, run.as_of)
    files_now = input_files(imports + repo.people_imports(s))
    stored_files = json.loads(run.input_files)
    stored_shas = {f["sha256"] for f in stored_files}
    checks = {
        "engine_version": comp.engine_version == run.engine_version,
        "weight_edition": edition.checksum == run.weight_checksum,
        "offence_rows": same_fp,
        "people": people_fp == run.people_fingerprint,
        "input_files": stored_shas <= {f["sha256"] for f in files_now},
        "entries": not diffs,
    }
    return {
        "run_id": run.id,
        "identical": all(checks.values()) and not missing,
        "checks": checks,
        "fingerprint_match": same_fp,
        "stored_fingerprint": run.fingerprint,
        "recomputed_fingerprint": comp.fingerprint,
        "weight_edition_match": checks["weight_edition"],
        "weight_checksum": run.weight_checksum,
        "engine_version": comp.engine_version,
        "stored_engine_version": run.engine_version,
        "people_fingerprint_match": checks["people"],
        "stored_people_fingerprint": run.people_fingerprint,
        "recomputed_people_fingerprint": people_fp,
        "input_files": stored_files,
        "missing_imports": missing,
        "entries_compared": len(stored),
        "differences": len(diffs),
        "first_differences": diffs[:20],
    }
