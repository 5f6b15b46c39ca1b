"""Subject access, restriction and erasure decided here, where the person record lives.

The case-service knows every reference a person has across the platform (its own person id, the
records id, each referral id): an erasure or restriction decision applies here in the same
transaction and travels to the other services as ``person.erased`` / ``person.restricted``. A
person it does not know (a referral screened out or awaiting a match review, someone only in the
ranking's records) is erased by reference: the same event, keyed by the references given.
"""

from __future__ import annotations

import uuid
from typing import Any

from hhpu_shared.errors import Conflict, NotFound
from hhpu_shared.events.contracts.case import PersonErased, PersonRestricted
from hhpu_shared.protection import MarkState, is_marked, marks
from hhpu_shared.protection_api import DataProtectionHooks, apply_erasure, apply_restriction
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.models import (
    Assessment,
    AssessmentDecision,
    AssessmentTrigger,
    Case,
    CaseNote,
    Intervention,
    Person,
    PersonHistory,
    PersonIdentifier,
    RetentionReview,
    RiskAssessment,
)
from case_service.service.common import actor, person_ref

ERASED = "[erased]"


def _rows(uow: UnitOfWork, model: Any, column: Any, values: list[str]) -> list[Any]:
    return repo.rows_in(uow.session, model, column, values)


def _delete(uow: UnitOfWork, model: Any, column: Any, values: list[str]) -> int:
    return repo.delete_in(uow.session, model, column, values)


def _dump(rows: list[Any]) -> list[dict[str, Any]]:
    return [r.model_dump(mode="json") for r in rows]


def _people(uow: UnitOfWork, refs: list[str]) -> list[Person]:
    return repo.people_named_by(uow.session, refs)


def references(uow: UnitOfWork, person: Person) -> list[str]:
    """Every reference the platform knows this person by (never a name or a date of birth)."""
    idents = _rows(uow, PersonIdentifier, PersonIdentifier.person_id, [person.id])
    out = [person.id, *([person.records_id] if person.records_id else [])]
    out += [i.value for i in idents if i.kind in ("records_id", "referral")]
    return list(dict.fromkeys(out))


def export(uow: UnitOfWork, refs: list[str]) -> dict[str, Any]:
    people = _people(uow, refs)
    ids = [p.id for p in people]
    cases = _rows(uow, Case, Case.person_id, ids)
    case_ids = [c.id for c in cases]
    assessments = _rows(uow, Assessment, Assessment.person_id, ids)
    return {
        "people": _dump(people),
        "references": {p.id: references(uow, p) for p in people},
        "identifiers": _dump(_rows(uow, PersonIdentifier, PersonIdentifier.person_id, ids)),
        "history": _dump(_rows(uow, PersonHistory, PersonHistory.person_id, ids)),
        "cases": _dump(cases),
        "assessments": _dump(assessments),
        "triggers": _dump(
            _rows(uow, AssessmentTrigger, AssessmentTrigger.assessment_id, [a.id for a in assessments])
        ),
        "risk_assessments": _dump(_rows(uow, RiskAssessment, RiskAssessment.case_id, case_ids)),
        "notes": _dump(_rows(uow, CaseNote, CaseNote.case_id, case_ids)),
        "retention_reviews": _dump(_rows(uow, RetentionReview, RetentionReview.person_id, ids)),
    }


def erase(uow: UnitOfWork, refs: list[str]) -> dict[str, int]:
    """Names, date of birth, identifiers, notes and free text (assessment notes and reasons, each
    decision's reason, intervention outcomes) go; the bare case, assessment, decision and
    intervention records stay (with their dates and codes) so the unit's figures still add up."""
    s = uow.session
    people = _people(uow, refs)
    ids = [p.id for p in people]
    for p in people:
        p.given_name = p.family_name = ERASED
        p.middle_names = p.area = p.records_id = None
        p.date_of_birth = None
        p.aliases = []
        p.mopi_review_on = None  # disposed of: never due for review again
        s.add(p)
    case_ids = [c.id for c in _rows(uow, Case, Case.person_id, ids)]
    assessments = _rows(uow, Assessment, Assessment.person_id, ids)
    for a in assessments:
        a.recommendation_note = a.decision_reason = None
        a.checklist = {}
        s.add(a)
    assessment_ids = [a.id for a in assessments]
    triggers = _rows(uow, AssessmentTrigger, AssessmentTrigger.assessment_id, assessment_ids)
    for t in triggers:
        t.detail, t.data, t.ref = None, {}, f"erased-{uuid.uuid4().hex[:12]}"
        s.add(t)
    decisions = _rows(uow, AssessmentDecision, AssessmentDecision.assessment_id, assessment_ids)
    for d in decisions:
        d.reason = None
        s.add(d)
    interventions = _rows(uow, Intervention, Intervention.case_id, case_ids)
    for i in interventions:
        i.outcome = None
        s.add(i)
    s.flush()
    out = {
        "people_anonymised": len(people),
        "identifiers": _delete(uow, PersonIdentifier, PersonIdentifier.person_id, ids),
        "history": _delete(uow, PersonHistory, PersonHistory.person_id, ids),
        "notes": _delete(uow, CaseNote, CaseNote.case_id, case_ids),
        "risk_assessments": _delete(uow, RiskAssessment, RiskAssessment.case_id, case_ids),
        "triggers_anonymised": len(triggers),
        "decision_reasons_removed": len(decisions),
        "intervention_outcomes_removed": len(interventions),
    }
    s.flush()
    return out


def _person(uow: UnitOfWork, person_id: str) -> Person:
    p = repo.person(uow.session, person_id)
    if p is None:
        raise NotFound("No such person.")
    return p


def decide_erasure(uow: UnitOfWork, person_id: str, reason_code: str, reason: str) -> dict[str, Any]:
    """Erase the person here now and tell every other service (person.erased)."""
    p = _person(uow, person_id)
    if is_marked(uow.session, p.id, MarkState.ERASED):
        raise Conflict("This person's data has already been erased.", code="already_erased")
    refs = references(uow, p)
    event = PersonErased(
        person_id=p.id,
        references=tuple(refs),
        decision_id=uuid.uuid4().hex,
        decided_by=actor(uow),
        reason_code=reason_code,
        reason=reason,
    )
    removed = apply_erasure(uow, HOOKS, event)
    uow.emit(event, aggregate_id=p.id, subject=person_ref(p.id))
    return {"person_id": p.id, "decision_id": event.decision_id, "references": refs, "removed": removed}


def decide_erasure_by_reference(
    uow: UnitOfWork, references: list[str], reason_code: str, reason: str
) -> dict[str, Any]:
    """Erase a person this service does not know (a referral screened out or waiting for a match
    review, someone only in the ranking's records) by their references (referral ids, records ids):
    marked here against their return, and applied by every service through ``person.erased``.
    A person known here is erased as a person (409 `person_known` names them)."""
    refs = list(dict.fromkeys(r for r in references if r))
    known = _people(uow, refs)
    if known:
        raise Conflict(
            "These references name a person the case-service holds: erase the person "
            f"(POST /api/v1/people/{known[0].id}/erasure).",
            code="person_known",
            extra={"person_id": known[0].id},
        )
    state = marks(uow.session, refs)
    if all(state.get(r) == MarkState.ERASED for r in refs):
        raise Conflict("The data behind these references has already been erased.", code="already_erased")
    event = PersonErased(
        person_id=refs[0],
        references=tuple(refs),
        decision_id=uuid.uuid4().hex,
        decided_by=actor(uow),
        reason_code=reason_code,
        reason=reason,
    )
    removed = apply_erasure(uow, HOOKS, event)
    uow.emit(event, aggregate_id=refs[0])
    return {"person_id": None, "decision_id": event.decision_id, "references": refs, "removed": removed}


def decide_restriction(uow: UnitOfWork, person_id: str, restricted: bool, reason_code: str) -> dict[str, Any]:
    """Restrict processing of the person (or lift it) here and everywhere (person.restricted)."""
    p = _person(uow, person_id)
    if is_marked(uow.session, p.id, MarkState.ERASED):
        raise Conflict("This person's data has been erased.", code="already_erased")
    event = PersonRestricted(
        person_id=p.id,
        references=tuple(references(uow, p)),
        restricted=restricted,
        decision_id=uuid.uuid4().hex,
        decided_by=actor(uow),
        reason_code=reason_code,
    )
    apply_restriction(uow, event)
    uow.emit(event, aggregate_id=p.id, subject=person_ref(p.id))
    return {"person_id": p.id, "restricted": restricted, "decision_id": event.decision_id}


def resolve(uow: UnitOfWork, refs: list[str]) -> list[str]:
    """Every reference of the people any of `refs` names."""
    return [r for p in _people(uow, refs) for r in references(uow, p)]


HOOKS = DataProtectionHooks(export=export, erase=erase, resolve=resolve)
