"""HTTP: the time-boxed agenda, finalising it, and items added, changed, removed or reordered by hand."""

from __future__ import annotations

from fastapi import APIRouter
from hhpu_shared.audit import AuditOperation
from hhpu_shared.http import JustificationDep, UoWDep
from hhpu_shared.visibility import redact

from meeting_service.routes.common import Manager, Reader, SettingsDep
from meeting_service.routes.views import (
    agenda_public,
    audit_people,
    item_public,
    people_of_agenda,
    people_of_items,
)
from meeting_service.schemas import (
    AgendaItemCreate,
    AgendaItemPublic,
    AgendaItemUpdate,
    AgendaPublic,
    ReorderRequest,
)
from meeting_service.service import agenda, meetings

router = APIRouter(tags=["meetings"])
COLLECT, ALTER = AuditOperation.COLLECT, AuditOperation.ALTER


@router.get("/meetings/{meeting_id}/agenda", response_model=AgendaPublic)
def get_agenda(meeting_id: str, _: Reader, uow: UoWDep, why: JustificationDep) -> AgendaPublic:
    """The time-boxed agenda: kept items with start minutes, and what would move on (audited)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    out = agenda_public(agenda.plan(uow, meeting))
    audit_people(uow, people_of_agenda(out), subject_type="meeting_agenda", subject_id=meeting.id, why=why)
    return redact(uow.principal, out)


@router.post("/meetings/{meeting_id}/agenda/finalise", response_model=AgendaPublic)
def finalise_agenda(
    meeting_id: str, uow: UoWDep, settings: SettingsDep, _: Manager, why: JustificationDep
) -> AgendaPublic:
    """Apply the time limit: deferred items move to the next meeting with their reasons (each person
    on the agenda is audited)."""
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


@router.post("/meetings/{meeting_id}/agenda/items", response_model=AgendaItemPublic, status_code=201)
def add_item(
    meeting_id: str,
    body: AgendaItemCreate,
    uow: UoWDep,
    settings: SettingsDep,
    _: Manager,
    why: JustificationDep,
) -> AgendaItemPublic:
    """Add an item by hand (pinned by default: kept ahead of event-born items; audited)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    item = agenda.add_by_hand(uow, settings, meeting, body.model_dump())
    audit_people(
        uow, [item.person_id], subject_type="agenda_item", subject_id=item.id, why=why, operation=COLLECT
    )
    return redact(uow.principal, item_public(item))


@router.patch("/meetings/{meeting_id}/agenda/items/{item_id}", response_model=AgendaItemPublic)
def update_item(
    meeting_id: str, item_id: str, _: Manager, body: AgendaItemUpdate, uow: UoWDep, why: JustificationDep
) -> AgendaItemPublic:
    """Change an item or write its minute (409 once the meeting is closed; a minute is audited)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    item = agenda.get_item(uow, meeting, item_id)
    return item_public(agenda.update_item(uow, meeting, item, body.model_dump(exclude_unset=True), why))


@router.delete("/meetings/{meeting_id}/agenda/items/{item_id}", response_model=AgendaItemPublic)
def remove_item(
    meeting_id: str, item_id: str, uow: UoWDep, _: Manager, why: JustificationDep
) -> AgendaItemPublic:
    """Remove an item from the agenda (kept as removed, for the record; audited)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    item = agenda.remove_item(uow, meeting, agenda.get_item(uow, meeting, item_id))
    audit_people(
        uow, [item.person_id], subject_type="agenda_item", subject_id=item.id, why=why, operation=ALTER
    )
    return redact(uow.principal, item_public(item))


@router.put("/meetings/{meeting_id}/agenda/order", response_model=list[AgendaItemPublic])
def reorder(
    meeting_id: str, body: ReorderRequest, uow: UoWDep, _: Manager, why: JustificationDep
) -> list[AgendaItemPublic]:
    """Reorder the planned items (give every planned item id once; each person on them is audited)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    items = agenda.reorder(uow, meeting, body.item_ids)
    audit_people(
        uow,
        people_of_items(items),
        subject_type="meeting_agenda",
        subject_id=meeting.id,
        why=why,
        operation=ALTER,
    )
    return [redact(uow.principal, item_public(i)) for i in items]
