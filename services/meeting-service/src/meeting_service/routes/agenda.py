"""HTTP: the time-boxed agenda, finalising it, and items added, changed, removed or reordered by hand."""

from __future__ import annotations

from fastapi import APIRouter
from hhpu_shared.http import JustificationDep, UoWDep
from hhpu_shared.visibility import redact

from meeting_service.routes.common import Manager, Reader, SettingsDep
from meeting_service.routes.views import agenda_public, audit_people, item_public, people_of_agenda
from meeting_service.schemas import (
    AgendaItemCreate,
    AgendaItemPublic,
    AgendaItemUpdate,
    AgendaPublic,
    ReorderRequest,
)
from meeting_service.service import agenda, meetings

router = APIRouter(tags=["meetings"])


@router.get("/meetings/{meeting_id}/agenda", response_model=AgendaPublic)
def get_agenda(meeting_id: str, _: Reader, uow: UoWDep, why: JustificationDep) -> AgendaPublic:
    """The time-boxed agenda: kept items with start minutes, and what would move on (audited)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    out = agenda_public(agenda.plan(uow, meeting))
    audit_people(uow, people_of_agenda(out), subject_type="meeting_agenda", subject_id=meeting.id, why=why)
    return redact(uow.principal, out)


@router.post("/meetings/{meeting_id}/agenda/finalise", response_model=AgendaPublic)
def finalise_agenda(meeting_id: str, uow: UoWDep, settings: SettingsDep, _: Manager) -> AgendaPublic:
    """Apply the time limit: deferred items move to the next meeting with their reasons."""
    return agenda_public(agenda.finalise(uow, settings, meetings.get_meeting(uow, meeting_id)))


@router.post("/meetings/{meeting_id}/agenda/items", response_model=AgendaItemPublic, status_code=201)
def add_item(
    meeting_id: str, body: AgendaItemCreate, uow: UoWDep, settings: SettingsDep, _: Manager
) -> AgendaItemPublic:
    """Add an item by hand (pinned by default: kept ahead of event-born items)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    return item_public(agenda.add_by_hand(uow, settings, meeting, body.model_dump()))


@router.patch("/meetings/{meeting_id}/agenda/items/{item_id}", response_model=AgendaItemPublic)
def update_item(
    meeting_id: str, item_id: str, _: Manager, body: AgendaItemUpdate, uow: UoWDep, why: JustificationDep
) -> AgendaItemPublic:
    """Change an item or write its minute (409 once the meeting is closed; a minute is audited)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    item = agenda.get_item(uow, meeting, item_id)
    return item_public(agenda.update_item(uow, meeting, item, body.model_dump(exclude_unset=True), why))


@router.delete("/meetings/{meeting_id}/agenda/items/{item_id}", response_model=AgendaItemPublic)
def remove_item(meeting_id: str, item_id: str, uow: UoWDep, _: Manager) -> AgendaItemPublic:
    """Remove an item from the agenda (kept as removed, for the record)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    return item_public(agenda.remove_item(uow, meeting, agenda.get_item(uow, meeting, item_id)))


@router.put("/meetings/{meeting_id}/agenda/order", response_model=list[AgendaItemPublic])
def reorder(meeting_id: str, body: ReorderRequest, uow: UoWDep, _: Manager) -> list[AgendaItemPublic]:
    """Reorder the planned items (give every planned item id once)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    return [item_public(i) for i in agenda.reorder(uow, meeting, body.item_ids)]
