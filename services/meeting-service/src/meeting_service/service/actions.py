"""Actions: who sees and updates them, status changes, carry-over, the overdue sweep."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from hhpu_shared.auth import Principal, Role
from hhpu_shared.clock import today
from hhpu_shared.errors import Conflict, Forbidden, NotFound
from hhpu_shared.events.contracts.meeting import ActionCompleted, ActionOverdue
from hhpu_shared.http import PageParams
from hhpu_shared.uow import UnitOfWork

from meeting_service import repository as repo
from meeting_service.domain import actions as rules
from meeting_service.metrics import ACTIONS_OVERDUE
from meeting_service.models import Action, ActionCarry, now
from meeting_service.service import agenda, meetings
from meeting_service.service.common import OPEN, actor, agency_scope
from meeting_service.settings import MeetingSettings

# Who may update any action (besides its owner and its owner agency).
ACTION_MANAGERS = (Role.MEETING_CHAIR, Role.UNIT_SUPERVISOR, Role.ADMINISTRATOR, Role.SYSTEM)


# -- access --------------------------------------------------------------------------
def can_see(principal: Principal, action: Action) -> bool:
    scope = agency_scope(principal)
    return scope is None or action.owner_agency_id == scope


def can_update(principal: Principal, action: Action) -> bool:
    scope = agency_scope(principal)
    if scope is not None:
        return action.owner_agency_id == scope
    if principal.has(*ACTION_MANAGERS):
        return True
    return action.owner_subject is not None and action.owner_subject == principal.subject


# -- reading -------------------------------------------------------------------------
def list_actions(
    uow: UnitOfWork,
    page: PageParams,
    *,
    mine: bool = False,
    overdue: bool = False,
    status: str | None = None,
    meeting_id: str | None = None,
) -> tuple[Sequence[Action], int]:
    """Actions the caller may see: a partner agency its own; staff all (or only theirs: `mine`)."""
    principal = uow.principal
    return repo.actions(
        uow.session,
        agency_id=agency_scope(principal),
        owner_subject=principal.subject if mine else None,
        status=status,
        meeting_id=meeting_id,
        overdue_on=today() if overdue else None,
        limit=page.limit,
        offset=page.offset,
    )


def actions_of_meeting(uow: UnitOfWork, meeting_id: str) -> Sequence[Action]:
    return repo.actions_of_meeting(uow.session, meeting_id)


def carries(uow: UnitOfWork, action: Action) -> Sequence[ActionCarry]:
    return repo.carries(uow.session, action.id)


def get_action(uow: UnitOfWork, action_id: str) -> Action:
    action = repo.action(uow.session, action_id)
    if action is None or not can_see(uow.principal, action):
        raise NotFound(f"Action {action_id} does not exist.")
    return action


# -- changing ------------------------------------------------------------------------
def set_status(uow: UnitOfWork, action: Action, status: str, note: str | None) -> Action:
    principal = uow.principal
    if not can_update(principal, action):
        raise Forbidden("Only the meeting chair, a supervisor or the action's owner can update it.")
    if principal.is_partner and status == rules.NOT_DONE:
        raise Forbidden("Whether an agency did not do an action is recorded by the meeting.")
    if not rules.can_transition(action.status, status):
        raise Conflict(f"An action cannot go from {action.status} to {status}.", code="illegal_transition")
    action.status = status
    action.status_note = note
    action.completed_at = now()
    action.updated_at = now()
    repo.add(uow.session, action)
    uow.emit(
        ActionCompleted(action_id=action.id, meeting_id=action.meeting_id, status=status),
        aggregate_id=action.id,
    )
    return action


def carry_over(
    uow: UnitOfWork, settings: MeetingSettings, action: Action, reason_code: str, reason: str | None
) -> ActionCarry:
    """Move an unfinished action to the meeting after its review meeting, with the reason."""
    if action.status in rules.FINAL:
        raise Conflict(f"The action is {action.status}; only unfinished actions carry over.")
    current = repo.meeting(uow.session, action.review_meeting_id or action.meeting_id)
    if current is None:
        raise NotFound("The action's review meeting no longer exists.")
    target = current if current.status in OPEN else None
    if target is None or target.id == action.review_meeting_id:
        target = meetings.next_meeting_after(uow, settings, current)
    text = reason or rules.CARRY_REASONS.get(reason_code, reason_code)
    carry = ActionCarry(
        action_id=action.id,
        from_meeting_id=action.review_meeting_id,
        to_meeting_id=target.id,
        reason_code=reason_code,
        reason=text[:500],
        previous_status=action.status,
        previous_due_date=action.due_date,
        carried_by=actor(uow),
    )
    repo.add(uow.session, carry)
    action.review_meeting_id = target.id
    action.due_date = max(action.due_date, rules.default_due_date(target.scheduled_on))
    action.status = rules.OPEN
    action.overdue_detected_at = None
    action.carry_count += 1
    action.updated_at = now()
    repo.add(uow.session, action)
    repo.flush(uow.session)
    return carry


def overdue_sweep(uow: UnitOfWork, settings: MeetingSettings, *, on: date | None = None) -> list[str]:
    """Flag every open action past its due date once: event + agenda item on its review meeting.

    Run by the ``overdue-sweep`` background worker (``workers.py``) and ``POST /actions/overdue-sweep``."""
    day = on or today()
    flagged = []
    for action in repo.overdue_unflagged(uow.session, day):
        action.overdue_detected_at = now()
        repo.add(uow.session, action)
        uow.emit(
            ActionOverdue(
                action_id=action.id,
                meeting_id=action.meeting_id,
                owner_agency_id=action.owner_agency_id,
                due_date=action.due_date,
            ),
            aggregate_id=action.id,
        )
        review = repo.meeting(uow.session, action.review_meeting_id) if action.review_meeting_id else None
        if review is None or review.status not in OPEN:
            review = meetings.next_meeting_after(uow, settings, meetings.get_meeting(uow, action.meeting_id))
        agenda.add_item(
            uow,
            settings,
            review,
            agenda.ItemSpec(
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
    ACTIONS_OVERDUE.set(repo.count_overdue(uow.session, day))  # the dashboards' overdue-actions panel
    return flagged
