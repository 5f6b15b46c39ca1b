"""Outcomes (information, decisions, actions), action tracking, carry-over, closing, overdue sweep."""

from __future__ import annotations

from datetime import date
from typing import Any

from hhpu_shared.audit import AuditOperation
from hhpu_shared.auth import STAFF_ROLES, Principal, Role
from hhpu_shared.errors import Conflict, Forbidden, NotFound, ValidationProblem, field_error
from hhpu_shared.events.contracts.meeting import (
    ActionCompleted,
    ActionCreated,
    ActionOverdue,
    DecisionRecorded,
)
from hhpu_shared.events.envelope import SubjectRef
from hhpu_shared.uow import UnitOfWork

from meeting_service.domain import actions as rules
from meeting_service.metrics import ACTIONS_OVERDUE
from meeting_service.models import Action, ActionCarry, Addendum, AgendaItem, Meeting, Outcome, now
from meeting_service.service_agenda import AgendaService, ItemSpec
from meeting_service.settings import MeetingSettings

MANAGERS = (Role.MEETING_CHAIR, Role.UNIT_SUPERVISOR, Role.ADMINISTRATOR, Role.SYSTEM)


class ActionService:
    def __init__(self, uow: UnitOfWork, settings: MeetingSettings, *, today: date | None = None) -> None:
        self.uow = uow
        self.settings = settings
        self.agenda = AgendaService(uow, settings, today=today)
        self.meetings = self.agenda.meetings
        self.repo = self.agenda.repo
        self.today = self.meetings.today

    # -- outcomes ----------------------------------------------------------------
    def record_information(self, meeting: Meeting, item: AgendaItem, text: str) -> Outcome:
        self.meetings.ensure_open(meeting)
        out = Outcome(
            meeting_id=meeting.id, item_id=item.id, kind="information", text=text, recorded_by=self._who()
        )
        self.repo.add(out)
        return out

    def record_decision(
        self,
        meeting: Meeting,
        item: AgendaItem,
        *,
        decision: str,
        decided_by: str,
        cohort: str | None,
        reason: str | None,
    ) -> Outcome:
        """Record adopt/decline/defer for the item's assessment; emits one decision event."""
        self.meetings.ensure_open(meeting)
        if not item.assessment_id or not item.person_id:
            raise ValidationProblem(
                [field_error("item_id", "no_assessment", "Decisions are recorded on items of an assessment.")]
            )
        if item.status != "planned":
            raise Conflict(
                f"The item is {item.status}; decide it where it now stands.", code="item_not_planned"
            )
        if self.repo.decision_for_item(item.id) is not None:
            raise Conflict("A decision is already recorded for this item.", code="decision_exists")
        self.meetings.require_quorum(meeting)
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
            recorded_by=self._who(),
        )
        self.repo.add(out)
        self.repo.flush()  # the unique decision key refuses a concurrent second decision here
        self.uow.emit(
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
        self.uow.audit(
            AuditOperation.COLLECT,
            subject_type="assessment",
            subject_id=item.assessment_id,
            justification="multi-agency meeting decision on a suitability assessment",
            detail={"meeting_id": meeting.id, "decision": decision},
        )
        if decision == "defer":
            target = self.meetings.next_meeting_after(meeting)
            self.agenda.add_item(
                target,
                ItemSpec(
                    key=item.item_key,
                    kind=item.kind,
                    title=item.title,
                    assessment_id=item.assessment_id,
                    person_id=item.person_id,
                    person_label=item.person_label,
                    urgency=item.urgency,
                    notes=item.notes,
                    source="carried",
                    carried_from_meeting_id=meeting.id,
                    carried_reason=f"Decision deferred: {reason or 'no reason given'}"[:500],
                ),
            )
        return out

    def record_action(
        self, meeting: Meeting, item: AgendaItem | None, data: dict[str, Any]
    ) -> tuple[Action, Outcome | None]:
        """Create an action (and its outcome when on an item); due by default before the next meeting."""
        self.meetings.ensure_open(meeting)
        if self.repo.agency(data["owner_agency_id"]) is None:
            raise ValidationProblem(
                [field_error("owner_agency_id", "unknown_agency", "The owner agency is not known.")]
            )
        review = self.meetings.next_meeting_after(meeting)
        due = data.get("due_date") or rules.default_due_date(review.scheduled_on)
        action = Action(
            meeting_id=meeting.id,
            item_id=item.id if item else None,
            review_meeting_id=review.id,
            description=data["description"],
            owner_name=data["owner_name"],
            owner_agency_id=data["owner_agency_id"],
            owner_subject=data.get("owner_subject"),
            person_id=item.person_id if item else data.get("person_id"),
            due_date=due,
            created_by=self._who(),
        )
        self.repo.add(action)
        outcome = None
        if item is not None:
            outcome = Outcome(
                meeting_id=meeting.id,
                item_id=item.id,
                kind="action",
                text=data["description"],
                action_id=action.id,
                recorded_by=self._who(),
            )
            self.repo.add(outcome)
        self.uow.emit(
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

    # -- actions -----------------------------------------------------------------
    def get_action(self, action_id: str, principal: Principal) -> Action:
        action = self.repo.action(action_id)
        if action is None or not can_see(principal, action):
            raise NotFound(f"Action {action_id} does not exist.")
        return action

    def set_status(self, action: Action, status: str, note: str | None, principal: Principal) -> Action:
        if not can_update(principal, action):
            raise Forbidden("Only the meeting chair, a supervisor or the action's owner can update it.")
        if principal.is_partner and status == rules.NOT_DONE:
            raise Forbidden("Whether an agency did not do an action is recorded by the meeting.")
        if not rules.can_transition(action.status, status):
            raise Conflict(
                f"An action cannot go from {action.status} to {status}.", code="illegal_transition"
            )
        action.status = status
        action.status_note = note
        action.completed_at = now()
        action.updated_at = now()
        self.repo.add(action)
        self.uow.emit(
            ActionCompleted(action_id=action.id, meeting_id=action.meeting_id, status=status),
            aggregate_id=action.id,
        )
        return action

    def carry_over(self, action: Action, reason_code: str, reason: str | None) -> ActionCarry:
        """Move an unfinished action to the meeting after its review meeting, with the reason."""
        if action.status in rules.FINAL:
            raise Conflict(f"The action is {action.status}; only unfinished actions carry over.")
        current = self.repo.meeting(action.review_meeting_id or action.meeting_id)
        if current is None:
            raise NotFound("The action's review meeting no longer exists.")
        target = current if current.status in ("scheduled", "in_progress") else None
        if target is None or target.id == action.review_meeting_id:
            target = self.meetings.next_meeting_after(current)
        text = reason or rules.CARRY_REASONS.get(reason_code, reason_code)
        carry = ActionCarry(
            action_id=action.id,
            from_meeting_id=action.review_meeting_id,
            to_meeting_id=target.id,
            reason_code=reason_code,
            reason=text[:500],
            previous_status=action.status,
            previous_due_date=action.due_date,
            carried_by=self._who(),
        )
        self.repo.add(carry)
        action.review_meeting_id = target.id
        action.due_date = max(action.due_date, rules.default_due_date(target.scheduled_on))
        action.status = rules.OPEN
        action.overdue_detected_at = None
        action.carry_count += 1
        action.updated_at = now()
        self.repo.add(action)
        return carry

    # -- closing -----------------------------------------------------------------
    def close_meeting(self, meeting: Meeting) -> dict[str, int]:
        """Freeze the minutes; undecided new cases and unfinished reviewed actions go to the next meeting."""
        self.meetings.ensure_open(meeting)
        plan, _items, _target = self.agenda.finalise(meeting)
        target = self.meetings.next_meeting_after(meeting)
        moved = len(plan.deferred) + self.agenda.carry_undecided_new_cases(meeting, target)
        reviewed = list(self.repo.actions_reviewed_at(meeting.id))
        states = [rules.ActionState(a.id, a.status, a.due_date) for a in reviewed]
        carried, _closed = rules.review_for_carry_over(
            states, today=self.today, next_meeting_on=target.scheduled_on
        )
        by_id = {a.id: a for a in reviewed}
        for c in carried:
            self.carry_over(by_id[c.action_id], c.reason_code, c.reason)
        self.meetings.mark_closed(meeting)
        return {"items_moved": moved, "actions_carried": len(carried)}

    def add_addendum(self, meeting: Meeting, text: str, item_id: str | None) -> Addendum:
        if meeting.status != "closed":
            raise Conflict("Addenda are for closed meetings; edit the minutes instead.", code="meeting_open")
        if item_id is not None:
            self.agenda.get_item(meeting, item_id)
        add = Addendum(meeting_id=meeting.id, item_id=item_id, text=text, author=self._who())
        self.repo.add(add)
        return add

    # -- overdue sweep -----------------------------------------------------------
    def overdue_sweep(self) -> list[str]:
        """Flag every open action past its due date once: event + agenda item on its review meeting."""
        flagged = []
        for action in self.repo.overdue_unflagged(self.today):
            action.overdue_detected_at = now()
            self.repo.add(action)
            self.uow.emit(
                ActionOverdue(
                    action_id=action.id,
                    meeting_id=action.meeting_id,
                    owner_agency_id=action.owner_agency_id,
                    due_date=action.due_date,
                ),
                aggregate_id=action.id,
            )
            review = self.repo.meeting(action.review_meeting_id) if action.review_meeting_id else None
            if review is None or review.status not in ("scheduled", "in_progress"):
                origin = self.meetings.get_meeting(action.meeting_id)
                review = self.meetings.next_meeting_after(origin)
            self.agenda.add_item(
                review,
                ItemSpec(
                    key=f"action:{action.id}",
                    kind="overdue_action",
                    title=f"Overdue action ({action.owner_agency_id}): {action.description}"[:300],
                    action_id=action.id,
                    person_id=action.person_id,
                    urgency="high",
                    notes=f"Due {action.due_date.isoformat()}; owner {action.owner_name}.",
                ),
            )
            flagged.append(action.id)
        _rows, still_overdue = self.repo.actions(status="open", overdue_on=self.today, limit=1)
        ACTIONS_OVERDUE.set(still_overdue)  # the dashboards' overdue-actions panel
        return flagged

    def _who(self) -> str:
        return str(self.uow.principal.subject)


def agency_scope(principal: Principal) -> str | None:
    """The agency a caller is confined to; None for staff and the system (who see everything)."""
    if principal.kind == "system":
        return None
    if principal.is_partner or not principal.has(*STAFF_ROLES):
        if not principal.agency_id:
            raise Forbidden("No agency is attached to your credentials.")
        return str(principal.agency_id)
    return None


def can_see(principal: Principal, action: Action) -> bool:
    scope = agency_scope(principal)
    return scope is None or action.owner_agency_id == scope


def can_update(principal: Principal, action: Action) -> bool:
    scope = agency_scope(principal)
    if scope is not None:
        return action.owner_agency_id == scope
    if principal.has(*MANAGERS):
        return True
    return action.owner_subject is not None and action.owner_subject == principal.subject
