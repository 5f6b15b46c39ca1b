"""Agenda rules: items from events and by hand, time boxes, planning and deferral."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import Conflict, NotFound, ValidationProblem, field_error
from hhpu_shared.uow import UnitOfWork

from meeting_service.domain.agenda import AgendaPlan, PlanItem, plan_agenda, urgency_rank
from meeting_service.models import AgendaItem, Meeting, now
from meeting_service.service import MeetingService
from meeting_service.settings import MeetingSettings

ITEM_KINDS = ("new_case", "review", "overdue_action", "other")


@dataclass(frozen=True)
class ItemSpec:
    key: str
    kind: str
    title: str
    assessment_id: str | None = None
    person_id: str | None = None
    person_label: str | None = None
    action_id: str | None = None
    urgency: str = "normal"
    order_hint: int = 0
    notes: str | None = None
    source: str = "event"
    pinned: bool = False
    planned_minutes: int | None = None
    carried_from_meeting_id: str | None = None
    carried_reason: str | None = None


class AgendaService:
    def __init__(self, uow: UnitOfWork, settings: MeetingSettings, *, today: date | None = None) -> None:
        self.uow = uow
        self.settings = settings
        self.meetings = MeetingService(uow, settings, today=today)
        self.repo = self.meetings.repo

    # -- adding items ------------------------------------------------------------
    def add_item(self, meeting: Meeting, spec: ItemSpec) -> tuple[AgendaItem, bool]:
        """Add an item unless the meeting already has one with this key (idempotent)."""
        self.meetings.ensure_open(meeting)
        existing = self.repo.item_by_key(meeting.id, spec.key)
        if existing is not None:
            return existing, False
        item = AgendaItem(
            meeting_id=meeting.id,
            item_key=spec.key,
            kind=spec.kind,
            title=spec.title,
            assessment_id=spec.assessment_id,
            person_id=spec.person_id,
            person_label=spec.person_label,
            action_id=spec.action_id,
            urgency=spec.urgency,
            order_hint=spec.order_hint,
            planned_minutes=spec.planned_minutes or self.settings.minutes_for(spec.kind),
            pinned=spec.pinned,
            source=spec.source,
            notes=spec.notes,
            carried_from_meeting_id=spec.carried_from_meeting_id,
            carried_reason=spec.carried_reason,
        )
        self.repo.add(item)
        self.repo.flush()
        return item, True

    def add_to_next_meeting(self, spec: ItemSpec) -> tuple[AgendaItem, bool]:
        """Put an event-born item on the next monthly meeting, once per key across open meetings."""
        already = self.repo.open_items_for_key(spec.key)
        if already:
            return already[0], False
        return self.add_item(self.meetings.next_meeting_for_new_cases(), spec)

    def append_note(self, assessment_id: str, note: str) -> int:
        """Append `note` to the planned items of an assessment on meetings not yet closed."""
        changed = 0
        for item in self.repo.items_for_assessment(assessment_id):
            meeting = self.repo.meeting(item.meeting_id)
            if meeting is None or meeting.status in ("closed", "cancelled") or item.status != "planned":
                continue
            item.notes = f"{item.notes}\n{note}" if item.notes else note
            self.repo.add(item)
            changed += 1
        return changed

    def raise_urgency(self, assessment_id: str, urgency: str) -> int:
        """A more urgent trigger (e.g. a high-urgency referral) moves the case up the agenda."""
        changed = 0
        for item in self.repo.items_for_assessment(assessment_id):
            meeting = self.repo.meeting(item.meeting_id)
            if meeting is None or meeting.status in ("closed", "cancelled") or item.status != "planned":
                continue
            if urgency_rank(urgency) > urgency_rank(item.urgency):
                item.urgency = urgency
                self.repo.add(item)
                changed += 1
        return changed

    def withdraw_decided(self, assessment_id: str, decision: str) -> int:
        """Remove the undecided planned items of an assessment decided outside a meeting."""
        removed = 0
        for item in self.repo.items_for_assessment(assessment_id):
            meeting = self.repo.meeting(item.meeting_id)
            if meeting is None or meeting.status in ("closed", "cancelled") or item.status != "planned":
                continue
            if self.repo.decision_for_item(item.id) is not None:
                continue
            item.status = "removed"
            note = f"Removed: the assessment was decided ({decision}) outside the meeting."
            item.notes = f"{item.notes}\n{note}" if item.notes else note
            self.repo.add(item)
            removed += 1
        return removed

    # -- by hand -----------------------------------------------------------------
    def get_item(self, meeting: Meeting, item_id: str) -> AgendaItem:
        item = self.repo.item(item_id)
        if item is None or item.meeting_id != meeting.id:
            raise NotFound(f"Agenda item {item_id} is not on this meeting.")
        return item

    def update_item(self, meeting: Meeting, item: AgendaItem, fields: dict[str, object]) -> AgendaItem:
        self.meetings.ensure_open(meeting)
        if item.status == "removed" and fields.get("status") != "planned":
            raise Conflict("The item was removed; restore it first (status planned).")
        if fields.get("status") == "planned" and item.status == "deferred":
            raise Conflict("The item was moved to another meeting; change it there.", code="item_moved")
        for k, v in fields.items():
            if v is not None:
                setattr(item, k, v)
        self.repo.add(item)
        if item.person_id and ("minutes" in fields or "notes" in fields):
            self.uow.audit(
                AuditOperation.ALTER,
                subject_type="person",
                subject_id=item.person_id,
                justification="minutes of the multi-agency meeting",
                detail={"meeting_id": meeting.id, "item_id": item.id},
            )
        return item

    def remove_item(self, meeting: Meeting, item: AgendaItem) -> AgendaItem:
        self.meetings.ensure_open(meeting)
        if self.repo.decision_for_item(item.id) is not None:
            raise Conflict("The item has a recorded decision and cannot be removed.", code="item_decided")
        item.status = "removed"
        self.repo.add(item)
        return item

    def reorder(self, meeting: Meeting, item_ids: Sequence[str]) -> list[AgendaItem]:
        self.meetings.ensure_open(meeting)
        items = {i.id: i for i in self.repo.items(meeting.id, statuses=("planned",))}
        if len(set(item_ids)) != len(item_ids) or set(item_ids) != set(items):
            raise ValidationProblem(
                [field_error("item_ids", "not_a_permutation", "Give every planned item id exactly once.")]
            )
        for pos, item_id in enumerate(item_ids):
            items[item_id].position = pos
            self.repo.add(items[item_id])
        return [items[i] for i in item_ids]

    # -- planning ----------------------------------------------------------------
    def plan(self, meeting: Meeting) -> tuple[AgendaPlan, dict[str, AgendaItem]]:
        items = {i.id: i for i in self.repo.items(meeting.id, statuses=("planned",))}
        order = {item_id: n for n, item_id in enumerate(items)}
        # an item already discussed (outcome or minute recorded) is never moved on
        discussed = {o.item_id for o in self.repo.outcomes(meeting.id)}
        discussed |= {i.id for i in items.values() if i.minutes}
        plan_items = [
            PlanItem(
                id=i.id,
                kind=i.kind,
                minutes=i.planned_minutes,
                urgency=i.urgency,
                order=i.order_hint * 100_000 + order[i.id],
                pinned=i.pinned or i.id in discussed,
                position=i.position,
            )
            for i in items.values()
        ]
        return plan_agenda(plan_items, meeting.agenda_limit_minutes), items

    def finalise(self, meeting: Meeting) -> tuple[AgendaPlan, dict[str, AgendaItem], Meeting | None]:
        """Apply the plan: deferred items move to the next meeting with their reasons."""
        self.meetings.ensure_open(meeting)
        plan, items = self.plan(meeting)
        target: Meeting | None = None
        if plan.deferred:
            target = self.meetings.next_meeting_after(meeting)
        for d in plan.deferred:
            item = items[d.item.id]
            assert target is not None
            self.move_item(item, target, d.reason_code, d.reason)
        meeting.agenda_finalised_at = now()
        self.repo.add(meeting)
        return plan, items, target

    def move_item(self, item: AgendaItem, target: Meeting, reason_code: str, reason: str) -> AgendaItem:
        """Mark `item` deferred and put a copy (same key) on `target` with the reason."""
        item.status = "deferred"
        item.deferred_reason_code = reason_code
        item.deferred_reason = reason[:500]
        item.deferred_to_meeting_id = target.id
        self.repo.add(item)
        copy, _ = self.add_item(
            target,
            ItemSpec(
                key=item.item_key,
                kind=item.kind,
                title=item.title,
                assessment_id=item.assessment_id,
                person_id=item.person_id,
                person_label=item.person_label,
                action_id=item.action_id,
                urgency=item.urgency,
                order_hint=item.order_hint,
                notes=item.notes,
                source="carried",
                pinned=item.pinned,
                planned_minutes=item.planned_minutes,
                carried_from_meeting_id=item.meeting_id,
                carried_reason=reason[:500],
            ),
        )
        return copy

    def carry_undecided_new_cases(self, meeting: Meeting, target: Meeting) -> int:
        """At close: new cases that got no decision go to the next meeting."""
        moved = 0
        for item in self.repo.items(meeting.id, statuses=("planned",)):
            if item.kind == "new_case" and self.repo.decision_for_item(item.id) is None:
                self.move_item(item, target, "no_decision", "No decision was reached at the meeting.")
                moved += 1
        return moved
