"""Action rules: statuses, due dates, overdue detection and carry-over (MARAC practice).

Incomplete actions are reviewed at the next meeting, distinguishing "not possible because
circumstances changed" (closed) from "the agency has not done it" (carried over with that reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

OPEN, DONE, NOT_POSSIBLE, NOT_DONE = "open", "done", "not_possible", "not_done"
STATUSES = (OPEN, DONE, NOT_POSSIBLE, NOT_DONE)
FINAL = (DONE, NOT_POSSIBLE)

# from-status -> allowed new statuses
TRANSITIONS: dict[str, tuple[str, ...]] = {
    OPEN: (DONE, NOT_POSSIBLE, NOT_DONE),
    NOT_DONE: (DONE, NOT_POSSIBLE),
    DONE: (),
    NOT_POSSIBLE: (),
}

CARRY_REASONS = {
    "not_done_by_agency": "Not done by the agency",
    "overdue": "Overdue: not yet done by its due date",
    "in_progress": "Still in progress",
    "awaiting_information": "Awaiting information",
    "other": "Other",
}


def default_due_date(next_meeting_on: date) -> date:
    """By default an action is due the day before the next meeting."""
    return next_meeting_on - timedelta(days=1)


def can_transition(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, ())


def is_overdue(status: str, due_date: date, today: date) -> bool:
    return status == OPEN and due_date < today


@dataclass(frozen=True)
class ActionState:
    id: str
    status: str
    due_date: date
    description: str = ""


@dataclass(frozen=True)
class CarryOver:
    action_id: str
    reason_code: str
    reason: str
    new_due_date: date


def review_for_carry_over(
    actions: list[ActionState], *, today: date, next_meeting_on: date
) -> tuple[list[CarryOver], list[ActionState]]:
    """At a meeting's close: which reviewed actions go to the next meeting, and which are closed.

    Done and not-possible actions are closed; not-done ones carry over "not done by the agency";
    open ones past their due date carry over as overdue; open ones not yet due carry over as in
    progress. Each carried action is due the day before the next meeting.
    """
    carried: list[CarryOver] = []
    closed: list[ActionState] = []
    due = default_due_date(next_meeting_on)
    for a in actions:
        if a.status in FINAL:
            closed.append(a)
            continue
        if a.status == NOT_DONE:
            code = "not_done_by_agency"
        elif is_overdue(a.status, a.due_date, today):
            code = "overdue"
        else:
            code = "in_progress"
        carried.append(CarryOver(a.id, code, CARRY_REASONS[code], max(due, a.due_date)))
    return carried, closed
