"""Risk assessments, case notes and interventions recorded on a case."""

from __future__ import annotations

from datetime import date
from typing import Any

from hhpu_shared.errors import Conflict, ValidationProblem, field_error
from hhpu_shared.events.contracts.case import InterventionRecorded
from hhpu_shared.http import Page, PageParams
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain import arms, iom_matrix, reassessment, rm2000
from case_service.domain import interventions as catalogue
from case_service.models import Case, CaseNote, Intervention, RiskAssessment
from case_service.schemas_records import (
    InterventionPublic,
    InterventionTypePublic,
    NotePublic,
    OverduePublic,
    RiskPublic,
)
from case_service.service import retention
from case_service.service.common import actor, alter, collect, consult, get_or_404, person_ref, today

BAND_ORDER = ("low", "medium", "high", "very_high")


def _open_case(uow: UnitOfWork, case_id: str) -> Case:
    c = get_or_404(repo.case(uow.session, case_id), "case")
    if c.status == "exited":
        raise Conflict("an exited case is closed to new records", code="case_exited")
    return c


def _problems(errs: list[tuple[str, str, str]]) -> None:
    if errs:
        raise ValidationProblem([field_error(f, code, msg) for f, code, msg in errs])


def score_risk(tool: str, inputs: dict[str, Any], static_band: str | None) -> tuple[dict[str, Any], str]:
    if tool == "rm2000":
        inp = rm2000.Rm2000Inputs(**inputs)
        _problems(rm2000.validate(inp))
        r = rm2000.score(inp)
        return r.as_dict(), r.c_category
    if tool == "arms":
        _problems(arms.validate(inputs["risk"], inputs["protective"]))
        a = arms.score(inputs["risk"], inputs["protective"], static_band)
        return a.as_dict(), a.priority
    res = iom_matrix.score(inputs["likelihood"], inputs["harm"])
    return res.as_dict(), res.band


def record_risk(
    uow: UnitOfWork, case_id: str, tool: str, inputs: dict[str, Any], assessed_on: date | None, why: str
) -> RiskAssessment:
    """Score and store a risk assessment; the case's band is the highest current band of its tools."""
    s = uow.session
    c = _open_case(uow, case_id)
    latest_rm = list(repo.risk_history(s, c.id, "rm2000"))
    static_band = latest_rm[-1].band if latest_rm else None
    result, band = score_risk(tool, inputs, static_band)
    on = assessed_on or today()
    r = RiskAssessment(
        case_id=c.id,
        tool=tool,
        inputs=inputs,
        result=result,
        band=band,
        assessed_by=actor(uow),
        assessed_on=on,
        next_due=reassessment.next_due(on, band),
    )
    s.add(r)
    s.flush()
    latest: dict[str, RiskAssessment] = {}
    for x in repo.risk_history(s, c.id):
        latest[x.tool] = x
    c.risk_band = max((x.band for x in latest.values()), key=BAND_ORDER.index)
    c.next_review_on = min(x.next_due for x in latest.values())
    collect(uow, "case", c.id, why, risk_tool=tool, risk_assessment_id=r.id)
    retention.refresh_person(uow, c.person_id)
    return r


def risk_history(uow: UnitOfWork, case_id: str, page: PageParams, why: str) -> Page[RiskPublic]:
    """A case's risk assessments, oldest first (an audited consultation of the case)."""
    c = get_or_404(repo.case(uow.session, case_id), "case")
    consult(uow, "case", c.id, why, view="risk_history")
    rows, total = repo.risk_page(uow.session, c.id, limit=page.limit, offset=page.offset)
    return Page[RiskPublic].of([RiskPublic.model_validate(r) for r in rows], total, page)


def overdue(uow: UnitOfWork, on: date | None, page: PageParams, why: str) -> Page[OverduePublic]:
    """Managed cases whose reassessment is overdue, most overdue first; each listed case is consulted."""
    s = uow.session
    latest: dict[tuple[str, str], RiskAssessment] = {}
    for r in sorted(repo.all_risk_assessments(s), key=lambda x: (x.assessed_on, x.recorded_at)):
        latest[(r.case_id, r.tool)] = r
    due: dict[str, date] = {}
    for (cid, _), r in latest.items():
        due[cid] = min(due.get(cid, r.next_due), r.next_due)
    states = [reassessment.CaseRiskState(c.id, c.adopted_on, due.get(c.id)) for c in repo.managed_cases(s)]
    rows = reassessment.overdue(states, on or today())
    shown = rows[page.offset : page.offset + page.limit]
    for row in shown:
        consult(uow, "case", str(row["case_id"]), why, view="risk_overdue")
    return Page[OverduePublic].of([OverduePublic.model_validate(r) for r in shown], len(rows), page)


def add_note(uow: UnitOfWork, case_id: str, kind: str, text: str, corrects: str | None, why: str) -> CaseNote:
    s = uow.session
    c = get_or_404(repo.case(s, case_id), "case")
    if corrects is not None:
        old = repo.note(s, corrects)
        if old is None or old.case_id != c.id:
            raise ValidationProblem([field_error("corrects_note_id", "unknown", "no such note on this case")])
    n = CaseNote(case_id=c.id, kind=kind, text=text, author=actor(uow), corrects_note_id=corrects)
    s.add(n)
    s.flush()
    collect(uow, "case", c.id, why, note_id=n.id, kind=kind, correction=corrects is not None)
    return n


def notes(uow: UnitOfWork, case_id: str, page: PageParams, why: str) -> Page[NotePublic]:
    """A case's notes in order, each showing the notes that correct it (on any page)."""
    c = get_or_404(repo.case(uow.session, case_id), "case")
    consult(uow, "case", c.id, why, view="notes")
    rows, total = repo.notes(uow.session, c.id, limit=page.limit, offset=page.offset)
    out = [NotePublic.model_validate(n) for n in rows]
    by_id = {n.id: n for n in out}
    for fix in repo.corrections_of(uow.session, list(by_id)):
        if fix.corrects_note_id in by_id:
            by_id[fix.corrects_note_id].corrected_by.append(fix.id)
    return Page[NotePublic].of(out, total, page)


def record_intervention(uow: UnitOfWork, case_id: str, data: dict[str, Any], why: str) -> Intervention:
    c = _open_case(uow, case_id)
    kind = catalogue.get(data["code"])
    if kind is None:
        raise ValidationProblem([field_error("code", "unknown_intervention", "not in the catalogue")])
    row = Intervention(case_id=c.id, category=kind.category, cohort=c.cohort, recorded_by=actor(uow), **data)
    uow.session.add(row)
    uow.session.flush()
    collect(uow, "case", c.id, why, intervention_id=row.id, code=kind.code)
    uow.emit(
        InterventionRecorded(
            case_id=c.id,
            intervention_code=kind.code,
            category=kind.category,
            agency=row.agency,
            started_on=row.started_on,
        ),
        aggregate_id=c.id,
        subject=person_ref(c.person_id),
    )
    return row


def update_intervention(
    uow: UnitOfWork, intervention_id: str, changes: dict[str, Any], why: str
) -> Intervention:
    row = get_or_404(repo.intervention(uow.session, intervention_id), "intervention")
    for k, v in changes.items():
        setattr(row, k, v)
    if row.ended_on and row.started_on and row.ended_on < row.started_on:
        raise ValidationProblem([field_error("ended_on", "before_start", "cannot end before it started")])
    alter(uow, "case", row.case_id, why, intervention_id=row.id, fields=sorted(changes))
    return row


def interventions(uow: UnitOfWork, case_id: str, page: PageParams, why: str) -> Page[InterventionPublic]:
    """The interventions recorded on a case, in order (an audited consultation of the case)."""
    c = get_or_404(repo.case(uow.session, case_id), "case")
    consult(uow, "case", c.id, why, view="interventions")
    rows, total = repo.case_interventions(uow.session, c.id, limit=page.limit, offset=page.offset)
    return Page[InterventionPublic].of([InterventionPublic.model_validate(r) for r in rows], total, page)


def intervention_types(page: PageParams) -> Page[InterventionTypePublic]:
    """The catalogue of intervention types, in catalogue order."""
    kinds = list(catalogue.CATALOGUE.values())
    items = [
        InterventionTypePublic(code=t.code, name=t.name, category=t.category)
        for t in kinds[page.offset : page.offset + page.limit]
    ]
    return Page[InterventionTypePublic].of(items, len(kinds), page)
