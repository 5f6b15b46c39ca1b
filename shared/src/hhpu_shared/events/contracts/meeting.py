"""Events produced by the meeting-service (aggregates `meeting`, `action`)."""

from __future__ import annotations

from datetime import date

from hhpu_shared.events.base import EventData, register
from hhpu_shared.events.contracts.common import Cohort, Decision


@register("meeting.decision_recorded", aggregate="meeting")
class DecisionRecorded(EventData):
    meeting_id: str
    item_id: str
    assessment_id: str
    person_id: str
    decision: Decision
    decided_by: str
    cohort: Cohort | None = None
    reason: str | None = None


@register("action.created", aggregate="action")
class ActionCreated(EventData):
    action_id: str
    meeting_id: str
    owner_agency_id: str
    owner_name: str
    due_date: date


@register("action.completed", aggregate="action")
class ActionCompleted(EventData):
    action_id: str
    meeting_id: str
    status: str


@register("action.overdue_detected", aggregate="action")
class ActionOverdue(EventData):
    action_id: str
    meeting_id: str
    owner_agency_id: str
    due_date: date
