"""HTTP: meeting types, agencies, series, meetings, attendance and agendas."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from hhpu_shared.audit import AuditOperation
from hhpu_shared.auth import Principal
from hhpu_shared.errors import Forbidden, NotFound
from hhpu_shared.http import UoWDep, require_roles

from meeting_service.schemas import (
    AgencyPublic,
    AgencyUpsert,
    AgendaItemCreate,
    AgendaItemPublic,
    AgendaItemUpdate,
    AgendaPublic,
    InvitationPublic,
    InvitationUpdate,
    InviteRequest,
    MeetingCreate,
    MeetingPage,
    MeetingPublic,
    MeetingTypePublic,
    MeetingTypeUpsert,
    MeetingUpdate,
    ReorderRequest,
    ScheduleRequest,
    SeriesCreate,
    SeriesPublic,
)
from meeting_service.service import MeetingService
from meeting_service.service_agenda import AgendaService, ItemSpec
from meeting_service.views import (
    ANYONE,
    MANAGE,
    STAFF,
    agenda_public,
    item_public,
    justification,
    load_meeting,
    meeting_public,
    partner_agency,
    series_public,
    settings_of,
)

router = APIRouter(tags=["meetings"])
Manager = Annotated[Principal, Depends(require_roles(*MANAGE))]
Staff = Annotated[Principal, Depends(require_roles(*STAFF))]
Anyone = Annotated[Principal, Depends(require_roles(*ANYONE))]


# -- reference data ---------------------------------------------------------------
@router.get("/meeting-types", response_model=list[MeetingTypePublic])
def list_types(uow: UoWDep, request: Request, _: Staff) -> list[MeetingTypePublic]:
    """List meeting types (monthly multi-agency meeting, daily briefing, ...)."""
    svc = MeetingService(uow, settings_of(request))
    return [MeetingTypePublic.model_validate(t) for t in svc.repo.meeting_types()]


@router.put("/meeting-types/{type_id}", response_model=MeetingTypePublic)
def upsert_type(type_id: str, body: MeetingTypeUpsert, uow: UoWDep, request: Request, _: Manager) -> object:
    """Create or change a meeting type: duration, agenda limit and quorum."""
    svc = MeetingService(uow, settings_of(request))
    return MeetingTypePublic.model_validate(svc.upsert_type(type_id, body.model_dump()))


@router.get("/meeting-agencies", response_model=list[AgencyPublic])
def list_agencies(uow: UoWDep, request: Request, _: Staff) -> list[AgencyPublic]:
    """List partner agencies and their single points of contact."""
    svc = MeetingService(uow, settings_of(request))
    return [AgencyPublic.model_validate(a) for a in svc.repo.agencies()]


@router.put("/meeting-agencies/{agency_id}", response_model=AgencyPublic)
def upsert_agency(agency_id: str, body: AgencyUpsert, uow: UoWDep, request: Request, _: Manager) -> object:
    """Create or change an agency and its single point of contact."""
    svc = MeetingService(uow, settings_of(request))
    return AgencyPublic.model_validate(svc.upsert_agency(agency_id, body.model_dump()))


# -- series -----------------------------------------------------------------------
@router.post("/series", response_model=SeriesPublic, status_code=201)
def create_series(body: SeriesCreate, uow: UoWDep, request: Request, _: Manager) -> SeriesPublic:
    """Create a recurring series (monthly nth weekday, weekly, or weekdays)."""
    svc = MeetingService(uow, settings_of(request))
    return series_public(svc.create_series(body.model_dump()))


@router.get("/series", response_model=list[SeriesPublic])
def list_series(uow: UoWDep, request: Request, _: Staff) -> list[SeriesPublic]:
    """List recurring series."""
    svc = MeetingService(uow, settings_of(request))
    return [series_public(s) for s in svc.repo.series_list()]


@router.post("/series/{series_id}/schedule", response_model=list[MeetingPublic], status_code=201)
def schedule_series(
    series_id: str, body: ScheduleRequest, uow: UoWDep, request: Request, _: Manager
) -> list[MeetingPublic]:
    """Schedule the next meetings of a series, inviting its agencies."""
    svc = MeetingService(uow, settings_of(request))
    return [meeting_public(svc, m) for m in svc.schedule_series(svc.get_series(series_id), body.count)]


# -- meetings ---------------------------------------------------------------------
@router.post("/meetings", response_model=MeetingPublic, status_code=201)
def create_meeting(body: MeetingCreate, uow: UoWDep, request: Request, _: Manager) -> MeetingPublic:
    """Schedule a single meeting."""
    svc = MeetingService(uow, settings_of(request))
    data = body.model_dump(exclude={"invited_agency_ids"})
    return meeting_public(svc, svc.create_meeting(data, body.invited_agency_ids))


@router.get("/meetings", response_model=MeetingPage)
def list_meetings(
    uow: UoWDep,
    request: Request,
    principal: Anyone,
    meeting_type_id: str | None = None,
    status: str | None = None,
    from_date: date | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> MeetingPage:
    """The meeting schedule; a partner agency sees the meetings it is invited to."""
    svc = MeetingService(uow, settings_of(request))
    agency = partner_agency(principal)
    rows, total = svc.repo.meetings(
        meeting_type_id=meeting_type_id,
        status=status,
        from_date=from_date,
        agency_id=agency,
        limit=limit,
        offset=offset,
    )
    items = [meeting_public(svc, m, agency_id=agency) for m in rows]
    return MeetingPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/meetings/next", response_model=MeetingPublic)
def next_meeting(
    uow: UoWDep, request: Request, principal: Anyone, meeting_type_id: str | None = None
) -> MeetingPublic:
    """The next meeting of a type (default: the monthly multi-agency meeting) that is not closed."""
    settings = settings_of(request)
    svc = MeetingService(uow, settings)
    agency = partner_agency(principal)
    found = svc.repo.next_open_meeting(
        meeting_type_id or settings.new_case_meeting_type, on_or_after=svc.today
    )
    if found is None:
        raise NotFound("No meeting of this type is scheduled.")
    return meeting_public(svc, found, agency_id=agency)


@router.get("/meetings/{meeting_id}", response_model=MeetingPublic)
def get_meeting(meeting_id: str, uow: UoWDep, request: Request, principal: Anyone) -> MeetingPublic:
    """One meeting with its invitations, attendance and quorum."""
    svc, meeting = load_meeting(uow, request, meeting_id)
    return meeting_public(svc, meeting, agency_id=partner_agency(principal))


@router.patch("/meetings/{meeting_id}", response_model=MeetingPublic)
def update_meeting(
    meeting_id: str, body: MeetingUpdate, uow: UoWDep, request: Request, _: Manager
) -> MeetingPublic:
    """Reschedule or change a meeting that is not closed."""
    svc, meeting = load_meeting(uow, request, meeting_id)
    return meeting_public(svc, svc.update_meeting(meeting, body.model_dump(exclude_unset=True)))


@router.post("/meetings/{meeting_id}/start", response_model=MeetingPublic)
def start_meeting(meeting_id: str, uow: UoWDep, request: Request, _: Manager) -> MeetingPublic:
    """Mark the meeting as in progress."""
    svc, meeting = load_meeting(uow, request, meeting_id)
    return meeting_public(svc, svc.start_meeting(meeting))


@router.post("/meetings/{meeting_id}/cancel", response_model=MeetingPublic)
def cancel_meeting(meeting_id: str, uow: UoWDep, request: Request, _: Manager) -> MeetingPublic:
    """Cancel a scheduled meeting."""
    svc, meeting = load_meeting(uow, request, meeting_id)
    return meeting_public(svc, svc.cancel_meeting(meeting))


@router.post("/meetings/{meeting_id}/invitations", response_model=InvitationPublic, status_code=201)
def invite(meeting_id: str, body: InviteRequest, uow: UoWDep, request: Request, _: Manager) -> object:
    """Invite an agency (its single point of contact is copied onto the invitation)."""
    svc, meeting = load_meeting(uow, request, meeting_id)
    return InvitationPublic.model_validate(svc.invite(meeting, body.agency_id))


@router.patch("/meetings/{meeting_id}/invitations/{agency_id}", response_model=InvitationPublic)
def respond(
    meeting_id: str, agency_id: str, body: InvitationUpdate, uow: UoWDep, request: Request, principal: Anyone
) -> object:
    """Record apologies or attendance; an agency's SPOC may accept or send apologies for its own agency."""
    own = partner_agency(principal)
    if own is None and not principal.has(*MANAGE):
        raise Forbidden("Your role does not allow this operation.")
    if own is not None:
        if own != agency_id:
            raise NotFound(f"Agency {agency_id} is not invited to this meeting.")
        if body.attended is not None or body.attendees is not None:
            raise Forbidden("Attendance is recorded by the meeting chair.")
    svc, meeting = load_meeting(uow, request, meeting_id)
    inv = svc.respond(meeting, agency_id, **body.model_dump())
    return InvitationPublic.model_validate(inv)


# -- agenda -----------------------------------------------------------------------
@router.get("/meetings/{meeting_id}/agenda", response_model=AgendaPublic)
def get_agenda(meeting_id: str, uow: UoWDep, request: Request, _: Staff) -> AgendaPublic:
    """The time-boxed agenda: kept items with start minutes, and what would move on."""
    settings = settings_of(request)
    agenda = AgendaService(uow, settings)
    meeting = agenda.meetings.get_meeting(meeting_id)
    plan, items = agenda.plan(meeting)
    uow.audit(
        AuditOperation.CONSULT,
        subject_type="meeting_agenda",
        subject_id=meeting.id,
        justification=justification(request, settings.default_justification),
    )
    return agenda_public(meeting, plan, items, agenda.repo)


@router.post("/meetings/{meeting_id}/agenda/finalise", response_model=AgendaPublic)
def finalise_agenda(meeting_id: str, uow: UoWDep, request: Request, _: Manager) -> AgendaPublic:
    """Apply the time limit: deferred items move to the next meeting with their reasons."""
    agenda = AgendaService(uow, settings_of(request))
    meeting = agenda.meetings.get_meeting(meeting_id)
    plan, items, target = agenda.finalise(meeting)
    plan, items = agenda.plan(meeting)
    return agenda_public(meeting, plan, items, agenda.repo, target.id if target else None)


@router.post("/meetings/{meeting_id}/agenda/items", response_model=AgendaItemPublic, status_code=201)
def add_item(
    meeting_id: str, body: AgendaItemCreate, uow: UoWDep, request: Request, principal: Manager
) -> AgendaItemPublic:
    """Add an item by hand (pinned by default: kept ahead of event-born items)."""
    agenda = AgendaService(uow, settings_of(request))
    meeting = agenda.meetings.get_meeting(meeting_id)
    from meeting_service.models import new_id

    key = f"assessment:{body.assessment_id}" if body.kind == "new_case" else f"manual:{new_id()}"
    data = body.model_dump(exclude={"assessment_id", "person_id", "person_label", "kind", "title"})
    spec = ItemSpec(
        key=key,
        kind=body.kind,
        title=body.title,
        assessment_id=body.assessment_id,
        person_id=body.person_id,
        person_label=body.person_label,
        source="manual",
        **data,
    )
    item, _created = agenda.add_item(meeting, spec)
    return item_public(item)


@router.patch("/meetings/{meeting_id}/agenda/items/{item_id}", response_model=AgendaItemPublic)
def update_item(
    meeting_id: str, item_id: str, body: AgendaItemUpdate, uow: UoWDep, request: Request, _: Manager
) -> AgendaItemPublic:
    """Change an item or write its minute (409 once the meeting is closed)."""
    agenda = AgendaService(uow, settings_of(request))
    meeting = agenda.meetings.get_meeting(meeting_id)
    item = agenda.get_item(meeting, item_id)
    return item_public(agenda.update_item(meeting, item, body.model_dump(exclude_unset=True)))


@router.delete("/meetings/{meeting_id}/agenda/items/{item_id}", response_model=AgendaItemPublic)
def remove_item(meeting_id: str, item_id: str, uow: UoWDep, request: Request, _: Manager) -> AgendaItemPublic:
    """Remove an item from the agenda (kept as removed, for the record)."""
    agenda = AgendaService(uow, settings_of(request))
    meeting = agenda.meetings.get_meeting(meeting_id)
    return item_public(agenda.remove_item(meeting, agenda.get_item(meeting, item_id)))


@router.put("/meetings/{meeting_id}/agenda/order", response_model=list[AgendaItemPublic])
def reorder(
    meeting_id: str, body: ReorderRequest, uow: UoWDep, request: Request, _: Manager
) -> list[AgendaItemPublic]:
    """Reorder the planned items (give every planned item id once)."""
    agenda = AgendaService(uow, settings_of(request))
    meeting = agenda.meetings.get_meeting(meeting_id)
    return [item_public(i) for i in agenda.reorder(meeting, body.item_ids)]
