"""Stored rows to API models, the people each view shows audited, and the agenda as the API
shows it (the routes call these and return what they give)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from hhpu_shared import clock
from hhpu_shared.audit import AuditOperation
from hhpu_shared.uow import UnitOfWork
from hhpu_shared.visibility import redact

from meeting_service.domain.actions import is_overdue
from meeting_service.models import Action, Addendum, AgendaItem, Meeting, Series
from meeting_service.schemas import (
    ActionCarryPublic,
    ActionPublic,
    AgendaItemPublic,
    AgendaPublic,
    DeferredPublic,
    InvitationPublic,
    MeetingPublic,
    SeriesPublic,
)
from meeting_service.service import actions, agenda, meetings
from meeting_service.service.agenda import Agenda
from meeting_service.settings import MeetingSettings


def meeting_public(uow: UnitOfWork, meeting: Meeting, *, agency_id: str | None = None) -> MeetingPublic:
    """A meeting with its invitations (a partner agency sees its own only), attendance and quorum."""
    invitations = [
        i for i in meetings.invitations(uow, meeting) if agency_id is None or i.agency_id == agency_id
    ]
    present, needed, met = meetings.quorum(uow, meeting)
    return MeetingPublic.model_validate(meeting).model_copy(
        update={
            "invitations": [InvitationPublic.model_validate(i) for i in invitations],
            "agencies_attending": present,
            "quorum_agencies": needed,
            "quorum_met": met,
        }
    )


def series_public(series: Series) -> SeriesPublic:
    data = {k: getattr(series, k) for k in SeriesPublic.model_fields if k != "invited_agency_ids"}
    return SeriesPublic(**data, invited_agency_ids=json.loads(series.invited_agency_ids or "[]"))


def item_public(item: AgendaItem, starts_at: int | None = None) -> AgendaItemPublic:
    return AgendaItemPublic.model_validate(item).model_copy(update={"starts_at_minute": starts_at})


def people_of_agenda(out: AgendaPublic) -> list[str | None]:
    """Every person an agenda shows (kept, to be moved, moved, removed), in order."""
    items = [*out.kept, *(d.item for d in out.to_defer), *out.moved, *out.removed]
    return [i.person_id for i in items if i.person_id]


def audit_people(
    uow: UnitOfWork,
    people: list[str | None],
    *,
    subject_type: str,
    subject_id: str,
    why: str,
    recipient: str | None = None,
    operation: AuditOperation | None = None,
) -> None:
    """One consultation (or disclosure, with a recipient; or `operation`, for a route that changes
    what it shows) entry per person shown; one entry when none."""
    uow.audit_people(
        operation or (AuditOperation.DISCLOSE if recipient else AuditOperation.CONSULT),
        people or [None],
        subject_type=subject_type,
        subject_id=subject_id,
        justification=why,
        recipient=recipient,
    )


def people_of_items(items: Sequence[AgendaItem]) -> list[str | None]:
    return [i.person_id for i in items if i.person_id]


def addenda_people(uow: UnitOfWork, meeting: Meeting, rows: Sequence[Addendum]) -> list[str | None]:
    """The person of each addendum's item (an addendum about the meeting as a whole is about no one)."""
    items = {i.id: i for i in agenda.all_items(uow, meeting)}
    return [items[a.item_id].person_id for a in rows if a.item_id in items and items[a.item_id].person_id]


def agenda_public(a: Agenda) -> AgendaPublic:
    kept = []
    t = 0
    for p in a.plan.kept:
        kept.append(item_public(a.items[p.id], t))
        t += p.minutes
    return AgendaPublic(
        meeting_id=a.meeting.id,
        limit_minutes=a.plan.limit,
        requested_minutes=a.plan.requested_minutes,
        planned_minutes=a.plan.planned_minutes,
        over_limit=a.plan.over_limit,
        kept=kept,
        to_defer=[
            DeferredPublic(item=item_public(a.items[d.item.id]), reason_code=d.reason_code, reason=d.reason)
            for d in a.plan.deferred
        ],
        moved=[item_public(i) for i in a.others if i.status == "deferred"],
        removed=[item_public(i) for i in a.others if i.status == "removed"],
        notes=a.plan.notes,
        moved_to_meeting_id=a.moved_to,
    )


def action_public(uow: UnitOfWork, action: Action, today: date | None = None) -> ActionPublic:
    out = ActionPublic.model_validate(action).model_copy(
        update={
            "overdue": is_overdue(action.status, action.due_date, today or clock.today()),
            "carries": [ActionCarryPublic.model_validate(c) for c in actions.carries(uow, action)],
        }
    )
    return redact(uow.principal, out)


# -- the agenda as the API shows it (each person shown is audited, fields redacted by role) ------
COLLECT, ALTER = AuditOperation.COLLECT, AuditOperation.ALTER


def agenda_view(uow: UnitOfWork, meeting_id: str, why: str) -> AgendaPublic:
    """The time-boxed agenda: kept items with start minutes, and what would move on (audited)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    out = agenda_public(agenda.plan(uow, meeting))
    audit_people(uow, people_of_agenda(out), subject_type="meeting_agenda", subject_id=meeting.id, why=why)
    return redact(uow.principal, out)


def finalise_view(uow: UnitOfWork, settings: MeetingSettings, meeting_id: str, why: str) -> AgendaPublic:
    """Apply the time limit (deferred items move on with their reasons); each person is audited."""
    out = agenda_public(agenda.finalise(uow, settings, meetings.get_meeting(uow, meeting_id)))
    audit_people(
        uow,
        people_of_agenda(out),
        subject_type="meeting_agenda",
        subject_id=meeting_id,
        why=why,
        operation=ALTER,
    )
    return redact(uow.principal, out)


def add_item_view(
    uow: UnitOfWork, settings: MeetingSettings, meeting_id: str, data: dict[str, object], why: str
) -> AgendaItemPublic:
    """Add an item by hand (audited as a collection)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    item = agenda.add_by_hand(uow, settings, meeting, data)
    audit_people(
        uow, [item.person_id], subject_type="agenda_item", subject_id=item.id, why=why, operation=COLLECT
    )
    return redact(uow.principal, item_public(item))


def update_item_view(
    uow: UnitOfWork, meeting_id: str, item_id: str, changes: dict[str, object], why: str
) -> AgendaItemPublic:
    """Change an item or write its minute (a minute is audited by `agenda.update_item`)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    item = agenda.get_item(uow, meeting, item_id)
    return item_public(agenda.update_item(uow, meeting, item, changes, why))


def remove_item_view(uow: UnitOfWork, meeting_id: str, item_id: str, why: str) -> AgendaItemPublic:
    """Remove an item (kept as removed, for the record; audited)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    item = agenda.remove_item(uow, meeting, agenda.get_item(uow, meeting, item_id))
    audit_people(
        uow, [item.person_id], subject_type="agenda_item", subject_id=item.id, why=why, operation=ALTER
    )
    return redact(uow.principal, item_public(item))


def reorder_view(
    uow: UnitOfWork, meeting_id: str, item_ids: Sequence[str], why: str
) -> list[AgendaItemPublic]:
    """Reorder the planned items (each person on them is audited)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    items = agenda.reorder(uow, meeting, item_ids)
    audit_people(
        uow,
        people_of_items(items),
        subject_type="meeting_agenda",
        subject_id=meeting.id,
        why=why,
        operation=ALTER,
    )
    return [redact(uow.principal, item_public(i)) for i in items]
