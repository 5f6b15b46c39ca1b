"""A screened (or resolved) referral or a ranking candidate about a person the unit already knows: the
identifiers it adds, the trigger on the person's open assessment (or a new assessment, with a
candidate case unless one is active), the referral's statutory status on the active case, the MoPI
group derived again, the event and the audit entries, in plain statements (``repository.known``).

What it writes is what the general path (``people.find_or_create``, ``assessments.add_trigger``,
``cases.ensure_candidate``, ``retention.refresh``) writes for the same event, row for row, without
building ORM objects: one read (the person with their mark, open assessment, every trigger of
theirs, their cases and their risk tools), the inserts, and every changed field of the assessment,
the case and the person in one statement on PostgreSQL. What it does not take (nothing written, the
caller goes the general way): a merged record, a restricted or erased person, a person whose records
id or details the event would fill in, an assessment opened by a concurrent event.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hhpu_shared.audit import AuditOperation
from hhpu_shared.events.contracts.case import AssessmentTriggerAdded
from hhpu_shared.events.contracts.common import PersonDetails, Trigger, most_urgent
from hhpu_shared.uow import UnitOfWork
from sqlalchemy.orm.util import identity_key

from case_service import repository as repo
from case_service.domain import suitability
from case_service.models import Assessment, Case, Person, new_id
from case_service.repository import known as known_repo
from case_service.service import retention
from case_service.service.common import actor, collect, person_ref
from case_service.service.newcomers import (
    NewTrigger,
    _Mopi,
    assessment_row,
    case_row,
    emit_opened,
    history_row,
    identifier_row,
    status_change_row,
    trigger_row,
)

Wanted = list[tuple[str, str | None, str]]  # identifiers the event adds: kind, value, source


def referral(
    uow: UnitOfWork,
    seen: repo.Seen,
    *,
    referral_id: str,
    agency_id: str,
    records_id: str | None,
    subject: PersonDetails,
    trigger: NewTrigger,
    why: str,
    partner_reference: str | None = None,
) -> bool:
    """The referral's trigger on the person `seen` names; False when the general path must take it."""
    rid = records_id or subject.records_id
    person_source, source = f"referral:{referral_id}", f"referral:{agency_id}"
    wanted: Wanted = []
    person_id: str | None
    if seen.by_referral and not records_id:  # the same referral again: its person, nothing looked up
        person_id, finding = seen.by_referral, False
    else:
        person_id, finding = seen.by_records_id or seen.by_records_identifier or seen.by_pnc, True
        if not seen.by_pnc:
            wanted.append(("pnc", subject.pnc_number, person_source))
        if not seen.by_records_identifier:
            wanted.append(("records_id", rid, person_source))
    if person_id is None:
        return False
    if not seen.by_referral:
        wanted.append(("referral", referral_id, source))
    if partner_reference:
        wanted.append(("partner_reference", f"{agency_id}/{partner_reference}", source))
    return _add(uow, person_id, trigger, wanted, why, looked_up=finding, rid=rid, details=subject)


def candidate(
    uow: UnitOfWork,
    seen: repo.Seen,
    *,
    person_ref: str,
    subject: PersonDetails | None,
    trigger: NewTrigger,
    why: str,
) -> bool:
    """A ranking candidate's trigger on the person `seen` names; False as for `referral`."""
    person_id = seen.by_records_id or seen.by_records_identifier or seen.by_pnc
    if person_id is None:
        return False
    person_source = f"ranking:{trigger.origin}"
    wanted: Wanted = []
    if subject is not None and not seen.by_pnc:
        wanted.append(("pnc", subject.pnc_number, person_source))
    if not seen.by_records_identifier:
        wanted.append(("records_id", person_ref, person_source))
    return _add(uow, person_id, trigger, wanted, why, looked_up=True, rid=person_ref, details=subject)


def _add(
    uow: UnitOfWork,
    person_id: str,
    trigger: NewTrigger,
    wanted: Wanted,
    why: str,
    *,
    looked_up: bool,
    rid: str | None,
    details: PersonDetails | None,
) -> bool:
    """`looked_up`: found by `rid` (the records id) or the PNC number, as `people.find_or_create`
    finds a person (not by the referral itself); `details`: the event's (a candidate may have none)."""
    from case_service.service.people import PLACEHOLDER_GIVEN

    conn = uow.session.connection()
    person = known_repo.known_person(conn, person_id)
    if (
        person is None
        or person.merged_into  # the surviving record is followed on the general path
        or person.mark is not None  # recorded there, not processed further
        or (looked_up and rid and person.records_id is None)  # gets the records id: history, alteration
        or (looked_up and details and person.given_name == PLACEHOLDER_GIVEN)  # gets its details
    ):
        return False
    who = actor(uow)
    identifiers = [identifier_row(person_id, kind, value, src) for kind, value, src in wanted if value]
    added = repo.insert_identifiers(conn, identifiers)
    history = [
        history_row(person_id, who, "identifier_added", kind=row["kind"], source=row["source"])
        for row in identifiers
        if (row["kind"], row["value"]) in added
    ]
    repo.insert_history(uow.session, history)
    changes: list[tuple[str, dict[str, Any]]] = []
    cases = list(person.cases)
    active = person.active_case
    if person.open_assessment is not None:
        assessment_id = person.open_assessment
        if not known_repo.insert_trigger(conn, trigger_row(assessment_id, trigger)):
            return True  # the same referral or candidate again: nothing new
        urgency = most_urgent([person.open_urgency, trigger.urgency])
        if urgency != person.open_urgency:
            changes.append(("assessment", {"id": assessment_id, "urgency": urgency}))
        case = active if trigger.statutory_status is not None else None
        uow.audit(
            AuditOperation.ALTER,
            subject_type="assessment",
            subject_id=assessment_id,
            justification=why,
            detail={"trigger_added": trigger.source},
            person_ref=person_id,
        )
        mine = [(t.source, None) for t in person.triggers if t.assessment_id == assessment_id]
        mine.append((trigger.source, None))
        uow.emit(
            AssessmentTriggerAdded(
                assessment_id=assessment_id,
                person_id=person_id,
                trigger=Trigger(source=trigger.source, ref=trigger.ref, detail=trigger.detail),  # type: ignore[arg-type, unused-ignore]
                urgency=urgency,
                summary=suitability.summary(mine),
            ),
            aggregate_id=assessment_id,
            subject=person_ref(person_id),
        )
    else:
        assessment_id = new_id()
        case_id = active.id if active is not None else new_id()
        assessment = assessment_row(assessment_id, person_id, trigger, case_id)
        if not known_repo.insert_assessment(conn, assessment):
            return False  # a concurrent event opened one: the general path joins it
        known_repo.insert_trigger(conn, trigger_row(assessment_id, trigger))
        collect(uow, "assessment", assessment_id, why, person_id=person_id, trigger=trigger.source)
        case = active
        if active is None:
            row = case_row(case_id, person_id, assessment_id, trigger)
            known_repo.insert_case(conn, row, status_change_row(case_id, who))
            collect(uow, "case", case_id, why, person_id=person_id)
            cases.append(
                known_repo.KnownCase(case_id, True, row["cohort"], None, row["subject_category"], None)
            )
        label = f"{person.given_name} {person.family_name}"
        emit_opened(uow, assessment, person.records_id, label, trigger)
    status = trigger.statutory_status
    if status is not None and case is not None and case.statutory_status is None:
        category = suitability.subject_category(status)
        changes.append(("case", {"id": case.id, "statutory_status": status, "subject_category": category}))
        cases = [replace(c, subject_category=category) if c.id == case.id else c for c in cases]
    # The MoPI group from everything known now (the person is not marked: checked above).
    counted = [(t.source, t.data) for t in person.triggers if t.counted]
    counted.append((trigger.source, trigger.data))
    fields = _Mopi(person.date_of_birth, person.mopi_group, list(person.mopi_basis), person.mopi_review_on)
    retention.rederive(fields, retention.known_facts(cases, counted, person.risk_tools))
    before = (person.mopi_group, person.mopi_basis, person.mopi_review_on)
    if (fields.mopi_group, fields.mopi_basis, fields.mopi_review_on) != before:
        mopi = {"mopi_group": fields.mopi_group, "mopi_basis": fields.mopi_basis}
        changes.append(("person", {"id": person_id, **mopi, "mopi_review_on": fields.mopi_review_on}))
    known_repo.update_rows(conn, changes)
    _expire(uow, changes)
    return True


_MODELS: dict[str, type[Any]] = {"assessment": Assessment, "case": Case, "person": Person}


def _expire(uow: UnitOfWork, changes: list[tuple[str, dict[str, Any]]]) -> None:
    """Rows changed here that the session holds (an earlier event of the consumer's batch loaded them
    on the general path) are read again when next used, not taken from its identity map."""
    held = uow.session.identity_map
    for kind, values in changes:
        row = held.get(identity_key(_MODELS[kind], values["id"]))
        if row is not None:
            uow.session.expire(row)
