"""HTTP: the time-boxed agenda, finalising it, and items added, changed, removed or reordered by hand."""

from __future__ import annotations

from fastapi import APIRouter
from hhpu_shared.http import JustificationDep, UoWDep

from meeting_service.routes.common import Manager, Reader, SettingsDep
from meeting_service.schemas import (
    AgendaItemCreate,
    AgendaItemPublic,
    AgendaItemUpdate,
    AgendaPublic,
    ReorderRequest,
)
from meeting_service.service import views

router = APIRouter(tags=["meetings"])


@router.get("/meetings/{meeting_id}/agenda", response_model=AgendaPublic)
def get_agenda(meeting_id: str, _: Reader, uow: UoWDep, why: JustificationDep) -> AgendaPublic:
    """The time-boxed agenda: kept items with start minutes, and what would move on (audited)."""
    return views.agenda_view(uow, meeting_id, why)


@router.post("/meetings/{meeting_id}/agenda/finalise", response_model=AgendaPublic)
def finalise_agenda(
    meeting_id: str, uow: UoWDep, settings: SettingsDep, _: Manager, why: JustificationDep
) -> AgendaPublic:
    """Apply the time limit: deferred items move to the next meeting with their reasons (each person
    on the agenda is audited)."""
    return views.finalise_view(uow, settings, meeting_id, why)


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
    return views.add_item_view(uow, settings, meeting_id, body.model_dump(), why)


@router.patch("/meetings/{meeting_id}/agenda/items/{item_id}", response_model=AgendaItemPublic)
def update_item(
    meeting_id: str, item_id: str, _: Manager, body: AgendaItemUpdate, uow: UoWDep, why: JustificationDep
) -> AgendaItemPublic:
    """Change an item or write its minute (409 once the meeting is closed; a minute is audited)."""
    return views.update_item_view(uow, meeting_id, item_id, body.model_dump(exclude_unset=True), why)


@router.delete("/meetings/{meeting_id}/agenda/items/{item_id}", response_model=AgendaItemPublic)
def remove_item(
    meeting_id: str, item_id: str, uow: UoWDep, _: Manager, why: JustificationDep
) -> AgendaItemPublic:
    """Remove an item from the agenda (kept as removed, for the record; audited)."""
    return views.remove_item_view(uow, meeting_id, item_id, why)


@router.put("/meetings/{meeting_id}/agenda/order", response_model=list[AgendaItemPublic])
def reorder(
    meeting_id: str, body: ReorderRequest, uow: UoWDep, _: Manager, why: JustificationDep
) -> list[AgendaItemPublic]:
    """Reorder the planned items (give every planned item id once; each person on them is audited)."""
    return views.reorder_view(uow, meeting_id, body.item_ids, why)
