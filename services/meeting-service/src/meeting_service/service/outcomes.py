"""Outcomes of agenda items (information, decisions, actions), closing a meeting, addenda."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hhpu_shared import clock
from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import Conflict, ValidationProblem, field_error
from hhpu_shared.events.contracts.meeting import ActionCreated, DecisionRecorded
from hhpu_shared.events.envelope import SubjectRef
from hhpu_shared.http import PageParams
from hhpu_shared.uow import UnitOfWork

from meeting_service import repository as repo
from meeting_service.domain import actions as rules
from meeting_service.models import Action, Addendum, AgendaItem, Meeting, Outcome
from meeting_service.service import actions, agenda, meetings
from meeting_service.service.common import actor, ensure_not_restricted, ensure_open
from meeting_service.settings import MeetingSettings


def list_outcomes(uow: UnitOfWork, meeting: Meeting, page: PageParams) -> tuple[Sequence[Outcome], int]:
    return repo.outcomes_page(uow.session, meeting.id, limit=page.limit, offset=page.offset)


def decisions(uow: UnitOfWork, meeting: Meeting) -> list[Outcome]:
    return [o for o in repo.outcomes(uow.session, meeting.id) if o.kind == "decision"]


def record_information(uow: UnitOfWork, meeting: Meeting, item: AgendaItem, text: str) -> Outcome:
    ensure_open(meeting)
    ensure_not_restricted(uow, item.person_id)
    out = Outcome(
        meeting_id=meeting.id, item_id=item.id, kind="information", text=text, recorded_by=actor(uow)
    )
    repo.add(uow.session, out)
    repo.flush(uow.session)
    return out


def record_decision(
    uow: UnitOfWork,
    settings: MeetingSettings,
    meeting: Meeting,
    item: AgendaItem,
    *,
    decision: str,
    decided_by: str,
    cohort: str | None,
    reason: str | None,
    justification: str,
) -> Outcome:
    """Record adopt/decline/defer for the item's assessment; emits one decision event.

    A deferred decision carries the item to the next meeting (:func:`agenda.carried`)."""
    ensure_open(meeting)
    ensure_not_restricted(uow, item.person_id)
    if not item.assessment_id or not item.person_id:
        raise ValidationProblem(
            [field_error("item_id", "no_assessment", "Decisions are recorded on items of an assessment.")]
        )
    if item.status != "planned":
        raise Conflict(f"The item is {item.status}; decide it where it now stands.", code="item_not_planned")
    if repo.decision_for_item(uow.session, item.id) is not None:
        raise Conflict("A decision is already recorded for this item.", code="decision_exists")
    meetings.require_quorum(uow, meeting)
    if decision == "adopt" and cohort is None:
        cohort = "hhpu"
    out = Outcome(
        meeting_id=meeting.id,
        item_id=item.id,
        kind="decision",
        decision=decision,
        decided_by=decided_by,
        cohort=cohort if decision == "adopt" else None,
        reason=reason,
        decision_key=item.id,
        recorded_by=actor(uow),
    )
    repo.add(uow.session, out)
    repo.flush(uow.session)  # the unique decision key refuses a concurrent second decision here
    uow.emit(
        DecisionRecorded(
            meeting_id=meeting.id,
            item_id=item.id,
            assessment_id=item.assessment_id,
            person_id=item.person_id,
            decision=decision,
            decided_by=decided_by,
            cohort=out.cohort,
            reason=reason,
        ),
        aggregate_id=meeting.id,
        subject=SubjectRef(type="person", id=item.person_id),
    )
    uow.audit(
        AuditOperation.COLLECT,
        subject_type="assessment",
        subject_id=item.assessment_id,
        justification=justification,
        detail={"meeting_id": meeting.id, "decision": decision},
        person_ref=item.person_id,
    )
    if decision == "defer":
        target = meetings.next_meeting_after(uow, settings, meeting)
        agenda.add_item(
            uow, settings, target, agenda.carried(item, f"Decision deferred: {reason or 'no reason given'}")
        )
    return out


def record_action(
    uow: UnitOfWork,
    settings: MeetingSettings,
    meeting: Meeting,
    item: AgendaItem | None,
    data: dict[str, Any],
) -> tuple[Action, Outcome | None]:
    """Create an action (and its outcome when on an item); due by default before the next meeting."""
    ensure_open(meeting)
    ensure_not_restricted(uow, item.person_id if item else data.get("person_id"))
    if repo.agency(uow.session, data["owner_agency_id"]) is None:
        raise ValidationProblem(
            [field_error("owner_agency_id", "unknown_agency", "The owner agency is not known.")]
        )
    review = meetings.next_meeting_after(uow, settings, meeting)
    action = Action(
        meeting_id=meeting.id,
        item_id=item.id if item else None,
        review_meeting_id=review.id,
        description=data["description"],
        owner_name=data["owner_name"],
        owner_agency_id=data["owner_agency_id"],
        owner_subject=data.get("owner_subject"),
        person_id=item.person_id if item else data.get("person_id"),
        due_date=data.get("due_date") or rules.default_due_date(review.scheduled_on),
        created_by=actor(uow),
    )
    repo.add(uow.session, action)
    outcome = None
    if item is not None:
        outcome = Outcome(
            meeting_id=meeting.id,
            item_id=item.id,
            kind="action",
            text=data["description"],
            action_id=action.id,
            recorded_by=actor(uow),
        )
        repo.add(uow.session, outcome)
    repo.flush(uow.session)
    uow.emit(
        ActionCreated(
            action_id=action.id,
            meeting_id=meeting.id,
            owner_agency_id=action.owner_agency_id,
            owner_name=action.owner_name,
            due_date=action.due_date,
        ),
        aggregate_id=action.id,
    )
    return action, outcome


def close_meeting(uow: UnitOfWork, settings: MeetingSettings, meeting: Meeting) -> dict[str, int]:
    """Freeze the minutes; undecided new cases and unfinished reviewed actions go to the next meeting."""
    ensure_open(meeting)
    moved, _target = agenda.defer_over_limit(uow, settings, meeting)
    target = meetings.next_meeting_after(uow, settings, meeting)
    moved += agenda.carry_undecided_new_cases(uow, settings, meeting, target)
    reviewed = list(repo.actions_reviewed_at(uow.session, meeting.id))
    states = [rules.ActionState(a.id, a.status, a.due_date) for a in reviewed]
    to_carry, _closed = rules.review_for_carry_over(
        states, today=clock.today(), next_meeting_on=target.scheduled_on
    )
    by_id = {a.id: a for a in reviewed}
    for c in to_carry:
        actions.carry_over(uow, settings, by_id[c.action_id], c.reason_code, c.reason)
    meetings.mark_closed(uow, meeting)
    repo.flush(uow.session)
    return {"items_moved": moved, "actions_carried": len(to_carry)}


def list_addenda(uow: UnitOfWork, meeting: Meeting, page: PageParams) -> tuple[Sequence[Addendum], int]:
    return repo.addenda_page(uow.session, meeting.id, limit=page.limit, offset=page.offset)


def all_addenda(uow: UnitOfWork, meeting: Meeting) -> Sequence[Addendum]:
    return repo.addenda(uow.session, meeting.id)


def add_addendum(uow: UnitOfWork, meeting: Meeting, text: str, item_id: str | None) -> Addendum:
    """A correction to a closed meeting's minutes (append-only)."""
    if meeting.status != "closed":
        raise Conflict("Addenda are for closed meetings; edit the minutes instead.", code="meeting_open")
    if item_id is not None:
        agenda.get_item(uow, meeting, item_id)
    add = Addendum(meeting_id=meeting.id, item_id=item_id, text=text, author=actor(uow))
    repo.add(uow.session, add)
    repo.flush(uow.session)
    return add
