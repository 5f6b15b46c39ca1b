"""A screened (or resolved) referral about a person the unit does not know yet: the person, their
identifiers, history, a suitability assessment with the referral as its trigger, a candidate case,
the event and the audit entries, each kind of row in one plain INSERT (``repository.newcomers``).

What it writes is what the general path (``people.create``, ``assessments.add_trigger``,
``cases.ensure_candidate``, ``retention.refresh``) writes for a new person, row for row, without
building ORM objects or reading back what it has just written: the assessment names its case from
the start, and the person's MoPI group is derived before their row is inserted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hhpu_shared.events.contracts.case import AssessmentOpened
from hhpu_shared.events.contracts.common import PersonDetails, Trigger, most_urgent
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain import mopi, suitability
from case_service.domain import search as search_rules
from case_service.models import new_id, now
from case_service.service import retention
from case_service.service.common import actor, collect, note_created, person_ref

CANDIDATE = "candidate"
DEFAULT_COHORT = "hhpu"  # models.Case.cohort's default


@dataclass
class _Mopi:
    """The MoPI fields of the person about to be inserted (`retention.rederive` sets them)."""

    date_of_birth: date | None
    mopi_group: int = 4  # models.Person.mopi_group's default
    mopi_basis: list[str] = field(default_factory=list)
    mopi_review_on: date | None = None


@dataclass(frozen=True)
class _NewCase:
    cohort: str
    mappa_category: int | None
    subject_category: str


def referral(
    uow: UnitOfWork,
    *,
    referral_id: str,
    agency_id: str,
    records_id: str | None,
    subject: PersonDetails,
    urgency: str,
    statutory_status: str,
    data: dict[str, Any],
    detail: str,
    why: str,
    partner_reference: str | None = None,
) -> bool:
    """Create the person and open their assessment with the referral; False when someone else just
    took the records id (nothing written: the caller goes the general way and finds that person).

    The caller has read that no person is known by the referral, its records id or its PNC number."""
    conn = uow.session.connection()
    who = actor(uow)
    person_source, source = f"referral:{referral_id}", f"referral:{agency_id}"
    person_id, assessment_id, case_id = new_id(), new_id(), new_id()
    case = _NewCase(DEFAULT_COHORT, None, suitability.subject_category(statutory_status))
    # The group from no facts at creation, then from the referral and the new case (as the general
    # path's two derivations do): written with the person's row.
    fields = _Mopi(subject.date_of_birth)
    retention.rederive(fields, mopi.Facts())
    retention.rederive(fields, retention.known_facts([case], [("referral", data)], ()))
    created = now()
    person = {
        "id": person_id,
        "records_id": records_id,
        "given_name": subject.given_name,
        "family_name": subject.family_name,
        "middle_names": subject.middle_names,
        "aliases": list(subject.aliases),
        "date_of_birth": subject.date_of_birth,
        "area": subject.area,
        "merged_into": None,
        "created_at": created,
        "updated_at": created,
        "mopi_group": fields.mopi_group,
        "mopi_review_on": fields.mopi_review_on,
        "mopi_basis": fields.mopi_basis,
        "mopi_reviewed_on": None,
    }
    if not repo.insert_person(conn, person):
        return False
    note_created(uow, person_id)
    keys = search_rules.name_keys(repo.person_names(subject))
    repo.write_search_keys(conn, person_id, keys, new=True)
    history = [_history(person_id, who, "created", source=person_source)]
    collect(uow, "person", person_id, why, source=person_source)
    wanted = [
        ("records_id", records_id, person_source),
        ("pnc", subject.pnc_number, person_source),
        ("referral", referral_id, source),
        ("partner_reference", f"{agency_id}/{partner_reference}" if partner_reference else None, source),
    ]
    identifiers = [_identifier(person_id, kind, value, src) for kind, value, src in wanted if value]
    added = repo.insert_identifiers(conn, identifiers)
    for row in identifiers:
        if (row["kind"], row["value"]) in added:
            history.append(
                _history(person_id, who, "identifier_added", kind=row["kind"], source=row["source"])
            )
    repo.insert_history(conn, history)
    _open(uow, person, assessment_id, case_id, case, urgency, referral_id, agency_id, data, detail, why)
    return True


def _open(
    uow: UnitOfWork,
    person: dict[str, Any],
    assessment_id: str,
    case_id: str,
    case: _NewCase,
    urgency: str,
    referral_id: str,
    agency_id: str,
    data: dict[str, Any],
    detail: str,
    why: str,
) -> None:
    """The assessment (naming its case), its trigger, the candidate case and its first status, the
    `assessment.opened` event and the assessment's and the case's audit entries."""
    person_id, who = person["id"], actor(uow)
    level = most_urgent([urgency, urgency])
    assessment = {
        "id": assessment_id,
        "person_id": person_id,
        "open_key": person_id,
        "status": "open",
        "urgency": level,
        "checklist": {},
        "recommendation": None,
        "recommendation_by": None,
        "recommendation_note": None,
        "decision": None,
        "decided_by": None,
        "decided_at": None,
        "decision_reason": None,
        "cohort": None,
        "case_id": case_id,
        "opened_at": now(),
    }
    trigger = {
        "id": new_id(),
        "assessment_id": assessment_id,
        "source": "referral",
        "ref": referral_id,
        "origin": agency_id,
        "detail": detail,
        "urgency": urgency,
        "data": data,
        "received_at": now(),
        "withdrawn_at": None,
        "withdrawn_reason": None,
    }
    at = now()
    new_case = {
        "id": case_id,
        "person_id": person_id,
        "active_key": person_id,
        "status": CANDIDATE,
        "cohort": case.cohort,
        "mappa_category": None,
        "mappa_level": None,
        "identified_by": suitability.identified_by([f"referral:{agency_id}"]),
        "statutory_status": data["statutory_status"],
        "subject_category": case.subject_category,
        "manager_id": None,
        "risk_band": None,
        "next_review_on": None,
        "assessment_id": assessment_id,
        "exit_reason": None,
        "created_at": at,
        "adopted_on": None,
        "exited_on": None,
        "updated_at": at,
    }
    change = {
        "id": new_id(),
        "case_id": case_id,
        "from_status": None,
        "to_status": CANDIDATE,
        "reason_code": None,
        "actor": who,
        "at": now(),
    }
    repo.insert_opened(uow.session.connection(), assessment, trigger, new_case, change)
    collect(uow, "assessment", assessment_id, why, person_id=person_id, trigger="referral")
    collect(uow, "case", case_id, why, person_id=person_id)
    uow.emit(
        AssessmentOpened(
            assessment_id=assessment_id,
            person_id=person_id,
            records_id=person["records_id"],
            person_label=f"{person['given_name']} {person['family_name']}",
            triggers=(Trigger(source="referral", ref=referral_id, detail=detail),),
            urgency=level,  # type: ignore[arg-type, unused-ignore]
            summary=suitability.summary([("referral", detail)]) + f": {detail}",
        ),
        aggregate_id=assessment_id,
        subject=person_ref(person_id),
    )


def _history(person_id: str, who: str, action: str, **detail: Any) -> dict[str, Any]:
    return {
        "id": new_id(),
        "person_id": person_id,
        "at": now(),
        "actor": who,
        "action": action,
        "detail": detail,
    }


def _identifier(person_id: str, kind: str, value: str, source: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "person_id": person_id,
        "kind": kind,
        "value": value,
        "search_value": search_rules.identifier_key(kind, value),
        "source": source,
        "added_at": now(),
    }
