"""A screened (or resolved) referral or a ranking candidate about a person the unit does not know
yet: the person, their identifiers, history, a suitability assessment with the event as its trigger,
a candidate case, the event and the audit entries, each kind of row in one plain INSERT
(``repository.newcomers``). The row builders are shared with ``service.known``.

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


@dataclass(frozen=True)
class NewTrigger:
    """The trigger an event adds to a person's assessment (a referral's or a ranking candidate's)."""

    source: str  # referral | ranking
    ref: str
    origin: str  # the agency id or the ranking run id
    detail: str
    urgency: str
    data: dict[str, Any]
    statutory_status: str | None = None  # a referral's: recorded on the person's case

    @property
    def subject_category(self) -> str:
        """The s.38 category of a new case (models.Case.subject_category's default without a status)."""
        return suitability.subject_category(self.statutory_status) if self.statutory_status else "suspect"


def referral(
    uow: UnitOfWork,
    *,
    referral_id: str,
    agency_id: str,
    records_id: str | None,
    subject: PersonDetails,
    trigger: NewTrigger,
    why: str,
    partner_reference: str | None = None,
) -> bool:
    """Create the person and open their assessment with the referral; False when someone else just
    took the records id (nothing written: the caller goes the general way and finds that person).

    The caller has read that no person is known by the referral, its records id or its PNC number."""
    person_source, source = f"referral:{referral_id}", f"referral:{agency_id}"
    wanted = [
        ("records_id", records_id, person_source),
        ("pnc", subject.pnc_number, person_source),
        ("referral", referral_id, source),
        ("partner_reference", f"{agency_id}/{partner_reference}" if partner_reference else None, source),
    ]
    return _new_person(uow, subject, records_id, person_source, wanted, trigger, why)


def candidate(
    uow: UnitOfWork, *, person_ref: str, subject: PersonDetails | None, trigger: NewTrigger, why: str
) -> bool:
    """Create the person a ranking candidate names (a placeholder without details, as
    `people.find_or_create`) and open their assessment; False as for `referral`.

    The caller has read that no person is known by the records id or the PNC number."""
    from case_service.service.people import PLACEHOLDER_GIVEN

    if subject is None:
        subject = PersonDetails(
            given_name=PLACEHOLDER_GIVEN, family_name=f"(records {person_ref})", records_id=person_ref
        )
    person_source = f"ranking:{trigger.origin}"
    wanted = [("records_id", person_ref, person_source), ("pnc", subject.pnc_number, person_source)]
    return _new_person(uow, subject, person_ref, person_source, wanted, trigger, why)


def _new_person(
    uow: UnitOfWork,
    subject: PersonDetails,
    records_id: str | None,
    person_source: str,
    wanted: list[tuple[str, str | None, str]],
    trigger: NewTrigger,
    why: str,
) -> bool:
    conn = uow.session.connection()
    who = actor(uow)
    person_id, assessment_id, case_id = new_id(), new_id(), new_id()
    case = _NewCase(DEFAULT_COHORT, None, trigger.subject_category)
    # The group from no facts at creation, then from the trigger and the new case (as the general
    # path's two derivations do): written with the person's row.
    fields = _Mopi(subject.date_of_birth)
    retention.rederive(fields, mopi.Facts())
    retention.rederive(fields, retention.known_facts([case], [(trigger.source, trigger.data)], ()))
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
    repo.add_search_keys(uow.session, person_id, keys)
    history = [history_row(person_id, who, "created", source=person_source)]
    collect(uow, "person", person_id, why, source=person_source)
    identifiers = [identifier_row(person_id, kind, value, src) for kind, value, src in wanted if value]
    added = repo.insert_identifiers(conn, identifiers)
    for row in identifiers:
        if (row["kind"], row["value"]) in added:
            history.append(
                history_row(person_id, who, "identifier_added", kind=row["kind"], source=row["source"])
            )
    repo.insert_history(uow.session, history)
    _open(uow, person, assessment_id, case_id, case, trigger, why)
    return True


def _open(
    uow: UnitOfWork,
    person: dict[str, Any],
    assessment_id: str,
    case_id: str,
    case: _NewCase,
    trigger: NewTrigger,
    why: str,
) -> None:
    """The assessment (naming its case), its trigger, the candidate case and its first status, the
    `assessment.opened` event and the assessment's and the case's audit entries."""
    person_id = person["id"]
    assessment = assessment_row(assessment_id, person_id, trigger, case_id)
    new_case = {
        **case_row(case_id, person_id, assessment_id, trigger),
        "cohort": case.cohort,
        "subject_category": case.subject_category,
    }
    repo.defer_opened(
        uow.session,
        assessment,
        trigger_row(assessment_id, trigger),
        new_case,
        status_change_row(case_id, actor(uow)),
    )
    collect(uow, "assessment", assessment_id, why, person_id=person_id, trigger=trigger.source)
    collect(uow, "case", case_id, why, person_id=person_id)
    label = f"{person['given_name']} {person['family_name']}"
    emit_opened(uow, assessment, person["records_id"], label, trigger)


def assessment_row(assessment_id: str, person_id: str, trigger: NewTrigger, case_id: str) -> dict[str, Any]:
    return {
        "id": assessment_id,
        "person_id": person_id,
        "open_key": person_id,
        "status": "open",
        "urgency": most_urgent([trigger.urgency, trigger.urgency]),
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


def trigger_row(assessment_id: str, trigger: NewTrigger) -> dict[str, Any]:
    return {
        "id": new_id(),
        "assessment_id": assessment_id,
        "source": trigger.source,
        "ref": trigger.ref,
        "origin": trigger.origin,
        "detail": trigger.detail,
        "urgency": trigger.urgency,
        "data": trigger.data,
        "received_at": now(),
        "withdrawn_at": None,
        "withdrawn_reason": None,
    }


def case_row(case_id: str, person_id: str, assessment_id: str, trigger: NewTrigger) -> dict[str, Any]:
    """A new candidate case (cohort and s.38 category as `models.Case`'s defaults or the trigger's)."""
    at = now()
    return {
        "id": case_id,
        "person_id": person_id,
        "active_key": person_id,
        "status": CANDIDATE,
        "cohort": DEFAULT_COHORT,
        "mappa_category": None,
        "mappa_level": None,
        "identified_by": suitability.identified_by([f"{trigger.source}:{trigger.origin}"]),
        "statutory_status": trigger.statutory_status,
        "subject_category": trigger.subject_category,
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


def status_change_row(case_id: str, who: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "case_id": case_id,
        "from_status": None,
        "to_status": CANDIDATE,
        "reason_code": None,
        "actor": who,
        "at": now(),
    }


def emit_opened(
    uow: UnitOfWork, assessment: dict[str, Any], records_id: str | None, label: str, trigger: NewTrigger
) -> None:
    detail = trigger.detail
    uow.emit(
        AssessmentOpened(
            assessment_id=assessment["id"],
            person_id=assessment["person_id"],
            records_id=records_id,
            person_label=label,
            triggers=(Trigger(source=trigger.source, ref=trigger.ref, detail=detail),),  # type: ignore[arg-type, unused-ignore]
            urgency=assessment["urgency"],
            summary=suitability.summary([(trigger.source, detail)]) + (f": {detail}" if detail else ""),
        ),
        aggregate_id=assessment["id"],
        subject=person_ref(assessment["person_id"]),
    )


def history_row(person_id: str, who: str, action: str, **detail: Any) -> dict[str, Any]:
    return {
        "id": new_id(),
        "person_id": person_id,
        "at": now(),
        "actor": who,
        "action": action,
        "detail": detail,
    }


def identifier_row(person_id: str, kind: str, value: str, source: str) -> dict[str, Any]:
    return {
        "id": new_id(),
        "person_id": person_id,
        "kind": kind,
        "value": value,
        "search_value": search_rules.identifier_key(kind, value),
        "source": source,
        "added_at": now(),
    }
