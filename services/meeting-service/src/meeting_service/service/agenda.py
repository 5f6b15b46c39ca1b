"""Agenda: items from events and by hand, time boxes, planning, deferral and carrying items on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from hhpu_shared import clock
from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import Conflict, NotFound, ValidationProblem, field_error
from hhpu_shared.events.contracts.common import urgency_rank
from hhpu_shared.protection import person_key
from hhpu_shared.uow import UnitOfWork

from meeting_service import repository as repo
from meeting_service.domain.agenda import AgendaPlan, PlanItem, plan_agenda
from meeting_service.models import AgendaItem, Meeting, new_id, now
from meeting_service.service import meetings
from meeting_service.service.common import ensure_not_restricted, ensure_open
from meeting_service.settings import MeetingSettings


@dataclass(frozen=True)
class ItemSpec:
    """What an agenda item is made from (events, the chair, or an item carried from a meeting)."""

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
    planned_minutes: int | None = None  # None: the time box of its kind (settings)
    carried_from_meeting_id: str | None = None
    carried_reason: str | None = None


@dataclass(frozen=True)
class Agenda:
    """A meeting's planned agenda, its items by id, and the items already moved on or removed."""

    meeting: Meeting
    plan: AgendaPlan
    items: dict[str, AgendaItem]
    others: Sequence[AgendaItem] = field(default_factory=tuple)
    moved_to: str | None = None


def carried(item: AgendaItem, reason: str) -> ItemSpec:
    """The item to put on a later meeting for `item` (a deferral, or a decision deferred).

    A carried item keeps what describes the case and the chair's choices: its key (so it is on
    one open meeting at a time), kind, title, assessment/person/action ids, urgency, notes, its
    ranking order among items of its kind (`order_hint`), `pinned` (set by the chair) and its
    planned minutes (the chair may have changed the time box). It does not keep what belongs to
    the meeting it leaves: its manual `position`, its minute and outcomes, and the "already
    discussed" protection (computed per meeting). Its source is ``carried``, with where from and why.
    """
    return ItemSpec(
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
    )


# -- adding items --------------------------------------------------------------------
def add_item(
    uow: UnitOfWork, settings: MeetingSettings, meeting: Meeting, spec: ItemSpec
) -> tuple[AgendaItem, bool]:
    """Add an item unless the meeting already has one with this key (idempotent)."""
    ensure_open(meeting)
    existing = repo.item_by_key(uow.session, meeting.id, spec.key)
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
        planned_minutes=spec.planned_minutes or settings.minutes_for(spec.kind),
        pinned=spec.pinned,
        source=spec.source,
        notes=spec.notes,
        carried_from_meeting_id=spec.carried_from_meeting_id,
        carried_reason=spec.carried_reason,
    )
    repo.add(uow.session, item)
    repo.flush(uow.session)
    return item, True


def add_by_hand(
    uow: UnitOfWork, settings: MeetingSettings, meeting: Meeting, data: dict[str, object]
) -> AgendaItem:
    """An item added by the chair; a new case is keyed by its assessment (one per meeting); none
    about a person whose processing is restricted (409)."""
    ensure_not_restricted(uow, data.get("person_id"))  # type: ignore[arg-type]
    assessment_id = data.get("assessment_id")
    key = f"assessment:{assessment_id}" if data.get("kind") == "new_case" else f"manual:{new_id()}"
    spec = ItemSpec(key=key, source="manual", **data)  # type: ignore[arg-type]
    item, _created = add_item(uow, settings, meeting, spec)
    return item


def add_to_next_meeting(
    uow: UnitOfWork, settings: MeetingSettings, spec: ItemSpec
) -> tuple[AgendaItem, bool]:
    """Put an event-born item on the next new-case meeting, once per key across open meetings."""
    already = repo.open_items_for_key(uow.session, spec.key)
    if already:
        return already[0], False
    return add_item(uow, settings, meetings.next_meeting_for_new_cases(uow, settings), spec)


def insert_on_next_meeting(uow: UnitOfWork, settings: MeetingSettings, spec: ItemSpec) -> str | None:
    """The common case of an event-born item in one statement: onto the next open new-case meeting,
    unless its person carries a protection mark or a planned item with its key is on an open meeting
    (as :func:`add_to_next_meeting` after a mark check). The new item's meeting id, or None when
    nothing was inserted (marked, on an agenda already, no meeting scheduled yet, or a race): the
    caller then takes the general path, which tells these apart."""
    values = {
        **asdict(spec),  # the item's columns by their names, but its key
        "id": new_id(),
        "item_key": spec.key,
        "planned_minutes": spec.planned_minutes or settings.minutes_for(spec.kind),
        "status": "planned",
        "created_at": now(),
        "meeting_type_id": settings.new_case_meeting_type,
        "today": clock.today(),
        "mark_key": person_key(spec.person_id) if spec.person_id else "",
    }
    return repo.insert_on_next_meeting(uow.session, values)


def append_note(uow: UnitOfWork, assessment_id: str, note: str, summary: str | None = None) -> int:
    """Append `note` to the planned items of an assessment on meetings not yet closed; `summary`
    (every trigger now) replaces the summary line the item was opened with."""
    changed = 0
    for item in repo.open_planned_items_for_assessment(uow.session, assessment_id):
        lines = item.notes.split("\n") if item.notes else []
        if summary:
            if lines and not lines[0].startswith("Trigger:"):
                lines = lines[1:]
            lines.insert(0, summary)
        item.notes = "\n".join([*lines, note])
        repo.add(uow.session, item)
        changed += 1
    return changed


def raise_urgency(uow: UnitOfWork, assessment_id: str, urgency: str) -> int:
    """A more urgent trigger (e.g. a high-urgency referral) moves the case up the agenda; never down."""
    changed = 0
    for item in repo.open_planned_items_for_assessment(uow.session, assessment_id):
        if urgency_rank(urgency) > urgency_rank(item.urgency):
            item.urgency = urgency
            repo.add(uow.session, item)
            changed += 1
    return changed


def withdraw_decided(uow: UnitOfWork, assessment_id: str, decision: str) -> int:
    """Remove the undecided planned items of an assessment decided outside a meeting."""
    note = f"Removed: the assessment was decided ({decision}) outside the meeting."
    return len(remove_undecided(uow, assessment_id, note))


def remove_undecided(uow: UnitOfWork, assessment_id: str, note: str) -> list[AgendaItem]:
    """Take the undecided planned items of an assessment off the open agendas, saying why."""
    removed = []
    for item in repo.open_planned_items_for_assessment(uow.session, assessment_id):
        if repo.decision_for_item(uow.session, item.id) is not None:
            continue
        item.status = "removed"
        item.notes = f"{item.notes}\n{note}" if item.notes else note
        repo.add(uow.session, item)
        removed.append(item)
    return removed


def set_urgency(uow: UnitOfWork, assessment_id: str, urgency: str) -> int:
    """The assessment's urgency changed (a withdrawn trigger may lower it): its planned items follow."""
    changed = 0
    for item in repo.open_planned_items_for_assessment(uow.session, assessment_id):
        if item.urgency != urgency:
            item.urgency = urgency
            repo.add(uow.session, item)
            changed += 1
    return changed


def follow_merge(
    uow: UnitOfWork, settings: MeetingSettings, assessment_id: str, into: str, person_id: str
) -> int:
    """A merged-away assessment's items leave the open agendas; the surviving assessment gets one
    item (carrying their notes) unless it already has one. Returns the items removed."""
    removed = remove_undecided(uow, assessment_id, f"Removed: merged into assessment {into}.")
    if not removed:
        return 0
    survivors = repo.open_planned_items_for_assessment(uow.session, into)
    notes = "\n".join(i.notes for i in removed if i.notes) or None
    if survivors:
        if notes:
            append_note(uow, into, notes)
        return len(removed)
    first = removed[0]
    add_to_next_meeting(
        uow,
        settings,
        ItemSpec(
            key=f"assessment:{into}",
            kind=first.kind,
            title=first.title,
            assessment_id=into,
            person_id=person_id,
            person_label=first.person_label,
            urgency=first.urgency,
            notes=notes,
        ),
    )
    return len(removed)


# -- by hand -------------------------------------------------------------------------
def get_item(uow: UnitOfWork, meeting: Meeting, item_id: str) -> AgendaItem:
    item = repo.item(uow.session, item_id)
    if item is None or item.meeting_id != meeting.id:
        raise NotFound(f"Agenda item {item_id} is not on this meeting.")
    return item


def all_items(uow: UnitOfWork, meeting: Meeting) -> Sequence[AgendaItem]:
    return repo.items(uow.session, meeting.id)


def update_item(
    uow: UnitOfWork, meeting: Meeting, item: AgendaItem, fields: dict[str, object], justification: str
) -> AgendaItem:
    """Change an item or write its minute; a change to an item about a person is audited."""
    ensure_open(meeting)
    if item.status == "removed" and fields.get("status") != "planned":
        raise Conflict("The item was removed; restore it first (status planned).")
    if fields.get("status") == "planned" and item.status == "deferred":
        raise Conflict("The item was moved to another meeting; change it there.", code="item_moved")
    for k, v in fields.items():
        if v is not None:
            setattr(item, k, v)
    repo.add(uow.session, item)
    if item.person_id:  # any change to an item about a person, its minute and notes included
        uow.audit(
            AuditOperation.ALTER,
            subject_type="person",
            subject_id=item.person_id,
            justification=justification,
            detail={"meeting_id": meeting.id, "item_id": item.id},
        )
    return item


RESTRICTED_NOTE = "Removed from the agenda: processing of this person's data is restricted (DPA 2018 s.47)."


def set_aside_restricted(uow: UnitOfWork, refs: list[str], restricted: bool) -> dict[str, int]:
    """A restricted person's planned items leave the agendas of meetings not yet held (kept, as
    removed, with why); held meetings' minutes stay as they are. Lifting the restriction puts
    nothing back: a chair restores an item by hand if it is still wanted."""
    if not restricted:
        return {}
    items = repo.open_planned_items_for_people(uow.session, refs)
    for item in items:
        item.status = "removed"
        item.notes = f"{item.notes}\n{RESTRICTED_NOTE}" if item.notes else RESTRICTED_NOTE
        repo.add(uow.session, item)
    return {"agenda_items_removed": len(items)}


def remove_item(uow: UnitOfWork, meeting: Meeting, item: AgendaItem) -> AgendaItem:
    ensure_open(meeting)
    if repo.decision_for_item(uow.session, item.id) is not None:
        raise Conflict("The item has a recorded decision and cannot be removed.", code="item_decided")
    item.status = "removed"
    repo.add(uow.session, item)
    return item


def reorder(uow: UnitOfWork, meeting: Meeting, item_ids: Sequence[str]) -> list[AgendaItem]:
    ensure_open(meeting)
    items = {i.id: i for i in repo.items(uow.session, meeting.id, statuses=("planned",))}
    if len(set(item_ids)) != len(item_ids) or set(item_ids) != set(items):
        raise ValidationProblem(
            [field_error("item_ids", "not_a_permutation", "Give every planned item id exactly once.")]
        )
    for pos, item_id in enumerate(item_ids):
        items[item_id].position = pos
        repo.add(uow.session, items[item_id])
    return [items[i] for i in item_ids]


# -- planning ------------------------------------------------------------------------
def plan(uow: UnitOfWork, meeting: Meeting, *, moved_to: str | None = None) -> Agenda:
    """The time-boxed plan of the planned items (nothing changes)."""
    items = {i.id: i for i in repo.items(uow.session, meeting.id, statuses=("planned",))}
    order = {item_id: n for n, item_id in enumerate(items)}
    # an item already discussed (outcome or minute recorded) is never moved on
    discussed = {o.item_id for o in repo.outcomes(uow.session, meeting.id)}
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
    others = repo.items(uow.session, meeting.id, statuses=("deferred", "removed"))
    return Agenda(meeting, plan_agenda(plan_items, meeting.agenda_limit_minutes), items, others, moved_to)


def defer_over_limit(
    uow: UnitOfWork, settings: MeetingSettings, meeting: Meeting
) -> tuple[int, Meeting | None]:
    """Move the items past the time limit to the next meeting with their reasons: (moved, target)."""
    ensure_open(meeting)
    before = plan(uow, meeting)
    target: Meeting | None = None
    if before.plan.deferred:
        target = meetings.next_meeting_after(uow, settings, meeting)
        for d in before.plan.deferred:
            move_item(uow, settings, before.items[d.item.id], target, d.reason_code, d.reason)
    meeting.agenda_finalised_at = now()
    repo.add(uow.session, meeting)
    repo.flush(uow.session)
    return len(before.plan.deferred), target


def finalise(uow: UnitOfWork, settings: MeetingSettings, meeting: Meeting) -> Agenda:
    """Apply the time limit; the agenda as it now stands (with where the deferred items went)."""
    _moved, target = defer_over_limit(uow, settings, meeting)
    return plan(uow, meeting, moved_to=target.id if target else None)


def move_item(
    uow: UnitOfWork,
    settings: MeetingSettings,
    item: AgendaItem,
    target: Meeting,
    reason_code: str,
    reason: str,
) -> AgendaItem:
    """Mark `item` deferred and put it (same key) on `target` with the reason."""
    item.status = "deferred"
    item.deferred_reason_code = reason_code
    item.deferred_reason = reason[:500]
    item.deferred_to_meeting_id = target.id
    repo.add(uow.session, item)
    copy, _ = add_item(uow, settings, target, carried(item, reason))
    return copy


def carry_undecided_new_cases(
    uow: UnitOfWork, settings: MeetingSettings, meeting: Meeting, target: Meeting
) -> int:
    """At close: new cases that got no decision go to the next meeting."""
    moved = 0
    for item in repo.items(uow.session, meeting.id, statuses=("planned",)):
        if item.kind == "new_case" and repo.decision_for_item(uow.session, item.id) is None:
            move_item(uow, settings, item, target, "no_decision", "No decision was reached at the meeting.")
            moved += 1
    return moved
