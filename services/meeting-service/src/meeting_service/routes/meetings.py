"""HTTP: meeting types, agencies, series, meetings and their invitations (apologies, attendance)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path
from hhpu_shared.errors import Forbidden, NotFound
from hhpu_shared.fields import Line
from hhpu_shared.http import Page, PageDep, UoWDep

from meeting_service.routes.common import (
    MANAGER_ROLES,
    Anyone,
    Manager,
    Participant,
    Reader,
    Responder,
    SettingsDep,
    Staff,
)
from meeting_service.schemas import (
    AgencyPublic,
    AgencyUpsert,
    InvitationPublic,
    InvitationUpdate,
    InviteRequest,
    MeetingCreate,
    MeetingPublic,
    MeetingTypePublic,
    MeetingTypeUpsert,
    MeetingUpdate,
    ScheduleRequest,
    SeriesCreate,
    SeriesPublic,
)
from meeting_service.service import meetings
from meeting_service.service.common import agency_scope
from meeting_service.service.views import meeting_public, series_public

router = APIRouter(tags=["meetings"])
# The id of a meeting type or agency a PUT creates: stored as given, so one clean line.
NewId = Annotated[Line, Path(min_length=1, max_length=64)]


# -- reference data ------------------------------------------------------------------
@router.get("/meeting-types", response_model=Page[MeetingTypePublic])
def list_types(uow: UoWDep, page: PageDep, _: Staff) -> Page[MeetingTypePublic]:
    """Meeting types (monthly multi-agency meeting, daily briefing, case conference, ...)."""
    rows, total = meetings.list_types(uow, page)
    return Page.of([MeetingTypePublic.model_validate(t) for t in rows], total, page)


@router.put("/meeting-types/{type_id}", response_model=MeetingTypePublic)
def upsert_type(type_id: NewId, body: MeetingTypeUpsert, uow: UoWDep, _: Manager) -> MeetingTypePublic:
    """Create or change a meeting type: duration, agenda limit and quorum."""
    return MeetingTypePublic.model_validate(meetings.upsert_type(uow, type_id, body.model_dump()))


@router.get("/meeting-agencies", response_model=Page[AgencyPublic])
def list_agencies(uow: UoWDep, page: PageDep, _: Staff) -> Page[AgencyPublic]:
    """Partner agencies and their single points of contact."""
    rows, total = meetings.list_agencies(uow, page)
    return Page.of([AgencyPublic.model_validate(a) for a in rows], total, page)


@router.put("/meeting-agencies/{agency_id}", response_model=AgencyPublic)
def upsert_agency(agency_id: NewId, body: AgencyUpsert, uow: UoWDep, _: Manager) -> AgencyPublic:
    """Create or change an agency and its single point of contact."""
    return AgencyPublic.model_validate(meetings.upsert_agency(uow, agency_id, body.model_dump()))


# -- series --------------------------------------------------------------------------
@router.post("/series", response_model=SeriesPublic, status_code=201)
def create_series(body: SeriesCreate, uow: UoWDep, _: Manager) -> SeriesPublic:
    """Create a recurring series (monthly nth weekday, weekly, or weekdays)."""
    return series_public(meetings.create_series(uow, body.model_dump()))


@router.get("/series", response_model=Page[SeriesPublic])
def list_series(_: Reader, uow: UoWDep, page: PageDep) -> Page[SeriesPublic]:
    """Recurring series."""
    rows, total = meetings.list_series(uow, page)
    return Page.of([series_public(s) for s in rows], total, page)


@router.post("/series/{series_id}/schedule", response_model=list[MeetingPublic], status_code=201)
def schedule_series(series_id: str, body: ScheduleRequest, uow: UoWDep, _: Manager) -> list[MeetingPublic]:
    """Schedule the next meetings of a series, inviting its agencies."""
    scheduled = meetings.schedule_series(uow, meetings.get_series(uow, series_id), body.count)
    return [meeting_public(uow, m) for m in scheduled]


# -- meetings ------------------------------------------------------------------------
@router.post("/meetings", response_model=MeetingPublic, status_code=201)
def create_meeting(body: MeetingCreate, uow: UoWDep, _: Manager) -> MeetingPublic:
    """Schedule a single meeting."""
    data = body.model_dump(exclude={"invited_agency_ids"})
    return meeting_public(uow, meetings.create_meeting(uow, data, body.invited_agency_ids))


@router.get("/meetings", response_model=Page[MeetingPublic])
def list_meetings(
    uow: UoWDep,
    page: PageDep,
    principal: Anyone,
    meeting_type_id: str | None = None,
    status: str | None = None,
    from_date: date | None = None,
) -> Page[MeetingPublic]:
    """The meeting schedule; a partner agency sees the meetings it is invited to."""
    agency = agency_scope(principal)
    rows, total = meetings.list_meetings(
        uow, page, agency_id=agency, meeting_type_id=meeting_type_id, status=status, from_date=from_date
    )
    return Page.of([meeting_public(uow, m, agency_id=agency) for m in rows], total, page)


@router.get("/meetings/next", response_model=MeetingPublic)
def next_meeting(
    principal: Participant, uow: UoWDep, settings: SettingsDep, meeting_type_id: str | None = None
) -> MeetingPublic:
    """The next meeting of a type (default: the monthly multi-agency meeting) that is not closed."""
    found = meetings.next_open_meeting(uow, meeting_type_id or settings.new_case_meeting_type)
    meeting, agency = meetings.get_visible_meeting(uow, found.id)
    return meeting_public(uow, meeting, agency_id=agency)


@router.get("/meetings/{meeting_id}", response_model=MeetingPublic)
def get_meeting(meeting_id: str, principal: Participant, uow: UoWDep) -> MeetingPublic:
    """One meeting with its invitations, attendance and quorum."""
    meeting, agency = meetings.get_visible_meeting(uow, meeting_id)
    return meeting_public(uow, meeting, agency_id=agency)


@router.patch("/meetings/{meeting_id}", response_model=MeetingPublic)
def update_meeting(meeting_id: str, body: MeetingUpdate, uow: UoWDep, _: Manager) -> MeetingPublic:
    """Reschedule or change a meeting that is not closed."""
    meeting = meetings.get_meeting(uow, meeting_id)
    return meeting_public(uow, meetings.update_meeting(uow, meeting, body.model_dump(exclude_unset=True)))


@router.post("/meetings/{meeting_id}/start", response_model=MeetingPublic)
def start_meeting(meeting_id: str, uow: UoWDep, _: Manager) -> MeetingPublic:
    """Mark the meeting as in progress."""
    return meeting_public(uow, meetings.start_meeting(uow, meetings.get_meeting(uow, meeting_id)))


@router.post("/meetings/{meeting_id}/cancel", response_model=MeetingPublic)
def cancel_meeting(meeting_id: str, uow: UoWDep, _: Manager) -> MeetingPublic:
    """Cancel a scheduled meeting."""
    return meeting_public(uow, meetings.cancel_meeting(uow, meetings.get_meeting(uow, meeting_id)))


@router.post("/meetings/{meeting_id}/invitations", response_model=InvitationPublic, status_code=201)
def invite(meeting_id: str, body: InviteRequest, uow: UoWDep, _: Manager) -> InvitationPublic:
    """Invite an agency (its single point of contact is copied onto the invitation)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    return InvitationPublic.model_validate(meetings.invite(uow, meeting, body.agency_id))


@router.patch("/meetings/{meeting_id}/invitations/{agency_id}", response_model=InvitationPublic)
def respond(
    meeting_id: str, agency_id: str, principal: Responder, body: InvitationUpdate, uow: UoWDep
) -> InvitationPublic:
    """Record apologies or attendance; an agency's SPOC may accept or send apologies for its own agency."""
    own = agency_scope(principal)
    if own is None and not principal.has(*MANAGER_ROLES):
        raise Forbidden("Your role does not allow this operation.")
    if own is not None:
        if own != agency_id:
            raise NotFound(f"Agency {agency_id} is not invited to this meeting.")
        if body.attended is not None or body.attendees is not None:
            raise Forbidden("Attendance is recorded by the meeting chair.")
    meeting = meetings.get_meeting(uow, meeting_id)
    return InvitationPublic.model_validate(meetings.respond(uow, meeting, agency_id, **body.model_dump()))
