"""Meeting types, agencies, series and scheduling, meetings and their lifecycle, invitations, quorum."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from hhpu_shared import clock
from hhpu_shared.errors import Conflict, NotFound, ValidationProblem, field_error
from hhpu_shared.http import PageParams
from hhpu_shared.uow import UnitOfWork

from meeting_service import repository as repo
from meeting_service.domain.recurrence import Rule, next_occurrence
from meeting_service.models import Agency, Invitation, Meeting, MeetingType, Series, now
from meeting_service.service.common import OPEN, actor, agency_scope, ensure_open
from meeting_service.settings import MeetingSettings


# -- reference data ------------------------------------------------------------------
def list_types(uow: UnitOfWork, page: PageParams) -> tuple[Sequence[MeetingType], int]:
    return repo.meeting_types(uow.session, limit=page.limit, offset=page.offset)


def get_type(uow: UnitOfWork, type_id: str) -> MeetingType:
    mt = repo.meeting_type(uow.session, type_id)
    if mt is None:
        raise NotFound(f"Meeting type {type_id} does not exist.")
    return mt


def upsert_type(uow: UnitOfWork, type_id: str, fields: dict[str, Any]) -> MeetingType:
    mt = repo.meeting_type(uow.session, type_id) or MeetingType(
        id=type_id, name=str(fields.get("name") or type_id)
    )
    for k, v in fields.items():
        if v is not None:
            setattr(mt, k, v)
    repo.add(uow.session, mt)
    repo.flush(uow.session)
    return mt


def list_agencies(uow: UnitOfWork, page: PageParams) -> tuple[Sequence[Agency], int]:
    return repo.agencies(uow.session, limit=page.limit, offset=page.offset)


def upsert_agency(uow: UnitOfWork, agency_id: str, fields: dict[str, Any]) -> Agency:
    ag = repo.agency(uow.session, agency_id) or Agency(
        id=agency_id, name=str(fields.get("name") or agency_id)
    )
    for k, v in fields.items():
        if v is not None:
            setattr(ag, k, v)
    repo.add(uow.session, ag)
    repo.flush(uow.session)
    return ag


def check_agencies(uow: UnitOfWork, agency_ids: Sequence[str], field: str) -> None:
    unknown = repo.unknown_agencies(uow.session, agency_ids)
    if unknown:
        raise ValidationProblem(
            [field_error(field, "unknown_agency", f"Unknown agency id(s): {', '.join(unknown)}")]
        )


# -- series --------------------------------------------------------------------------
def list_series(uow: UnitOfWork, page: PageParams) -> tuple[Sequence[Series], int]:
    return repo.series_list(uow.session, limit=page.limit, offset=page.offset)


def create_series(uow: UnitOfWork, data: dict[str, Any]) -> Series:
    mt = get_type(uow, str(data["meeting_type_id"]))
    invited = [str(a) for a in data.pop("invited_agency_ids", None) or []]
    check_agencies(uow, invited, "invited_agency_ids")
    series = Series(**data, invited_agency_ids=json.dumps(invited))
    if not data.get("duration_minutes"):
        series.duration_minutes = mt.default_duration_minutes
    repo.add(uow.session, series)
    repo.flush(uow.session)
    return series


def get_series(uow: UnitOfWork, series_id: str) -> Series:
    s = repo.series(uow.session, series_id)
    if s is None:
        raise NotFound(f"Series {series_id} does not exist.")
    return s


def invited_agency_ids(series: Series) -> list[str]:
    return [str(a) for a in json.loads(series.invited_agency_ids or "[]")]


def set_series_agencies(uow: UnitOfWork, series: Series, agency_ids: Sequence[str]) -> Series:
    """The agencies invited to the series' future meetings."""
    check_agencies(uow, agency_ids, "invited_agency_ids")
    series.invited_agency_ids = json.dumps(list(agency_ids))
    repo.add(uow.session, series)
    return series


def default_series(uow: UnitOfWork, settings: MeetingSettings, type_id: str) -> Series:
    """The active series of a meeting type; one is created from settings if none exists."""
    found = repo.active_series_of_type(uow.session, type_id)
    if found is not None:
        return found
    mt = get_type(uow, type_id)
    series = Series(
        meeting_type_id=type_id,
        title=mt.name,
        recurrence="monthly",
        weekday=settings.default_series_weekday,
        ordinal=settings.default_series_ordinal,
        start_time=settings.default_series_time,
        duration_minutes=mt.default_duration_minutes,
        invited_agency_ids=json.dumps(repo.active_agency_ids(uow.session)),
    )
    repo.add(uow.session, series)
    repo.flush(uow.session)
    return series


def schedule_series(
    uow: UnitOfWork, series: Series, count: int, *, after: date | None = None, today: date | None = None
) -> list[Meeting]:
    """The next `count` meetings of a series (existing dates are reused, new ones invite its agencies)."""
    rule = Rule(series.recurrence, series.weekday, series.ordinal)
    last = repo.last_meeting_of_series(uow.session, series.id)
    start = after or (today or clock.today()) - timedelta(days=1)
    if last is not None and after is None:
        start = max(start, last.scheduled_on)
    out = []
    d = start
    for _ in range(count):
        d = next_occurrence(rule, d)
        out.append(repo.meeting_on(uow.session, series.id, d) or _meeting_from_series(uow, series, d))
    return out


def _meeting_from_series(uow: UnitOfWork, series: Series, on: date) -> Meeting:
    mt = get_type(uow, series.meeting_type_id)
    meeting = Meeting(
        series_id=series.id,
        meeting_type_id=series.meeting_type_id,
        title=f"{series.title} {on.isoformat()}",
        scheduled_on=on,
        start_time=series.start_time,
        duration_minutes=series.duration_minutes,
        agenda_limit_minutes=mt.agenda_limit_minutes,
        location=series.location,
    )
    repo.add(uow.session, meeting)
    repo.flush(uow.session)
    for agency_id in invited_agency_ids(series):
        add_invitation(uow, meeting, agency_id)
    return meeting


# -- meetings ------------------------------------------------------------------------
def list_meetings(
    uow: UnitOfWork, page: PageParams, *, agency_id: str | None, **filters: Any
) -> tuple[Sequence[Meeting], int]:
    return repo.meetings(uow.session, agency_id=agency_id, limit=page.limit, offset=page.offset, **filters)


def create_meeting(uow: UnitOfWork, data: dict[str, Any], invited: list[str]) -> Meeting:
    mt = get_type(uow, str(data["meeting_type_id"]))
    check_agencies(uow, invited, "invited_agency_ids")
    meeting = Meeting(**data)
    if not data.get("duration_minutes"):
        meeting.duration_minutes = mt.default_duration_minutes
    if not data.get("agenda_limit_minutes"):
        meeting.agenda_limit_minutes = mt.agenda_limit_minutes
    if not data.get("title"):
        meeting.title = f"{mt.name} {meeting.scheduled_on.isoformat()}"
    repo.add(uow.session, meeting)
    repo.flush(uow.session)
    for agency_id in invited:
        add_invitation(uow, meeting, agency_id)
    return meeting


def get_meeting(uow: UnitOfWork, meeting_id: str) -> Meeting:
    m = repo.meeting(uow.session, meeting_id)
    if m is None:
        raise NotFound(f"Meeting {meeting_id} does not exist.")
    return m


def get_visible_meeting(uow: UnitOfWork, meeting_id: str) -> tuple[Meeting, str | None]:
    """A meeting the caller may see, and the agency it is confined to (a partner: only if invited)."""
    meeting = get_meeting(uow, meeting_id)
    agency = agency_scope(uow.principal)
    if agency is not None and repo.invitation(uow.session, meeting.id, agency) is None:
        raise NotFound(f"Meeting {meeting_id} does not exist.")
    return meeting, agency


def next_open_meeting(uow: UnitOfWork, type_id: str, *, today: date | None = None) -> Meeting:
    found = repo.next_open_meeting(uow.session, type_id, on_or_after=today or clock.today())
    if found is None:
        raise NotFound("No meeting of this type is scheduled.")
    return found


def next_meeting_for_new_cases(
    uow: UnitOfWork, settings: MeetingSettings, *, today: date | None = None
) -> Meeting:
    """The next meeting of the new-case type that is not closed (created from its series if none)."""
    type_id = settings.new_case_meeting_type
    found = repo.next_open_meeting(uow.session, type_id, on_or_after=today or clock.today())
    if found is not None:
        return found
    return schedule_series(uow, default_series(uow, settings, type_id), 1, today=today)[0]


def next_meeting_after(uow: UnitOfWork, settings: MeetingSettings, meeting: Meeting) -> Meeting:
    """The next not-closed meeting of the meeting's series (scheduled from the series if none)."""
    found = repo.meeting_after(uow.session, meeting)
    if found is not None:
        return found
    series = repo.series(uow.session, meeting.series_id) if meeting.series_id else None
    if series is None:
        series = default_series(uow, settings, meeting.meeting_type_id)
    after = max(meeting.scheduled_on, clock.today() - timedelta(days=1))
    return schedule_series(uow, series, 1, after=after)[0]


def update_meeting(uow: UnitOfWork, meeting: Meeting, fields: dict[str, Any]) -> Meeting:
    ensure_open(meeting)
    for k, v in fields.items():
        if v is not None:
            setattr(meeting, k, v)
    repo.add(uow.session, meeting)
    return meeting


def start_meeting(uow: UnitOfWork, meeting: Meeting) -> Meeting:
    if meeting.status != "scheduled":
        raise Conflict(f"Only a scheduled meeting can start; this one is {meeting.status}.")
    meeting.status = "in_progress"
    repo.add(uow.session, meeting)
    return meeting


def cancel_meeting(uow: UnitOfWork, meeting: Meeting) -> Meeting:
    if meeting.status != "scheduled":
        raise Conflict(f"Only a scheduled meeting can be cancelled; this one is {meeting.status}.")
    meeting.status = "cancelled"
    repo.add(uow.session, meeting)
    return meeting


def mark_closed(uow: UnitOfWork, meeting: Meeting) -> None:
    if meeting.status not in OPEN:
        raise Conflict(f"The meeting is already {meeting.status}.", code="meeting_closed")
    meeting.status = "closed"
    meeting.closed_at = now()
    meeting.closed_by = actor(uow)
    repo.add(uow.session, meeting)


# -- invitations, apologies, attendance, quorum ---------------------------------------
def invitations(uow: UnitOfWork, meeting: Meeting) -> Sequence[Invitation]:
    return repo.invitations(uow.session, meeting.id)


def add_invitation(uow: UnitOfWork, meeting: Meeting, agency_id: str) -> Invitation:
    """Invite an agency once (its single point of contact is copied onto the invitation)."""
    existing = repo.invitation(uow.session, meeting.id, agency_id)
    if existing is not None:
        return existing
    agency = repo.agency(uow.session, agency_id)
    if agency is None:
        raise NotFound(f"Agency {agency_id} does not exist.")
    inv = Invitation(
        meeting_id=meeting.id,
        agency_id=agency.id,
        agency_name=agency.name,
        contact_name=agency.spoc_name,
        contact_email=agency.spoc_email,
    )
    repo.add(uow.session, inv)
    repo.flush(uow.session)
    return inv


def invite(uow: UnitOfWork, meeting: Meeting, agency_id: str) -> Invitation:
    ensure_open(meeting)
    return add_invitation(uow, meeting, agency_id)


def respond(
    uow: UnitOfWork,
    meeting: Meeting,
    agency_id: str,
    *,
    response: str | None,
    apology_reason: str | None,
    attended: bool | None,
    attendees: str | None,
    contact_name: str | None,
) -> Invitation:
    ensure_open(meeting)
    inv = repo.invitation(uow.session, meeting.id, agency_id)
    if inv is None:
        raise NotFound(f"Agency {agency_id} is not invited to this meeting.")
    if response is not None:
        inv.response = response
        inv.apology_reason = apology_reason if response == "apologies" else None
    if attended is not None:
        if attended and inv.response == "apologies":
            inv.response = "accepted"
        inv.attended = attended
    if attendees is not None:
        inv.attendees = attendees
    if contact_name is not None:
        inv.contact_name = contact_name
    repo.add(uow.session, inv)
    return inv


def quorum(uow: UnitOfWork, meeting: Meeting) -> tuple[int, int, bool]:
    """(agencies attending, agencies required, met)."""
    mt = get_type(uow, meeting.meeting_type_id)
    present = sum(1 for i in repo.invitations(uow.session, meeting.id) if i.attended)
    return present, mt.quorum_agencies, present >= mt.quorum_agencies


def require_quorum(uow: UnitOfWork, meeting: Meeting) -> None:
    mt = get_type(uow, meeting.meeting_type_id)
    present, needed, ok = quorum(uow, meeting)
    if mt.enforce_quorum and not ok:
        raise Conflict(f"Quorum not met: {present} of {needed} agencies attending.", code="quorum_not_met")
