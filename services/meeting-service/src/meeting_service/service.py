"""Business rules for meetings, series, invitations and lifecycle. Never commits (the UoW does)."""

from __future__ import annotations

import json
from datetime import date, timedelta

from hhpu_shared.errors import Conflict, NotFound, ValidationProblem, field_error
from hhpu_shared.uow import UnitOfWork

from meeting_service.domain.recurrence import Rule, next_occurrence, nth_weekday
from meeting_service.models import Agency, Invitation, Meeting, MeetingType, Series, now
from meeting_service.repository import Repository
from meeting_service.settings import MeetingSettings

DEFAULT_TYPES = (
    (
        "monthly_mam",
        "Monthly multi-agency meeting",
        "Monthly HHPU meeting with partner agencies.",
        120,
        120,
        3,
    ),
    ("daily_briefing", "Daily briefing", "Morning briefing of the unit (weekdays).", 15, 15, 0),
    ("case_conference", "Case conference", "Ad hoc multi-agency case discussion.", 60, 60, 2),
)


class MeetingService:
    def __init__(self, uow: UnitOfWork, settings: MeetingSettings, *, today: date | None = None) -> None:
        self.uow = uow
        self.settings = settings
        self.repo = Repository(uow.session)
        self.today = today or date.today()

    # -- reference data ----------------------------------------------------------
    def ensure_default_types(self) -> None:
        for type_id, name, desc, duration, limit, quorum in DEFAULT_TYPES:
            if self.repo.meeting_type(type_id) is None:
                self.repo.add(
                    MeetingType(
                        id=type_id,
                        name=name,
                        description=desc,
                        default_duration_minutes=duration,
                        agenda_limit_minutes=limit,
                        quorum_agencies=quorum,
                    )
                )
        self.repo.flush()

    def get_type(self, type_id: str) -> MeetingType:
        mt = self.repo.meeting_type(type_id)
        if mt is None:
            raise NotFound(f"Meeting type {type_id} does not exist.")
        return mt

    def upsert_type(self, type_id: str, fields: dict[str, object]) -> MeetingType:
        mt = self.repo.meeting_type(type_id) or MeetingType(
            id=type_id, name=str(fields.get("name") or type_id)
        )
        for k, v in fields.items():
            if v is not None:
                setattr(mt, k, v)
        self.repo.add(mt)
        self.repo.flush()
        return mt

    def upsert_agency(self, agency_id: str, fields: dict[str, object]) -> Agency:
        ag = self.repo.agency(agency_id) or Agency(id=agency_id, name=str(fields.get("name") or agency_id))
        for k, v in fields.items():
            if v is not None:
                setattr(ag, k, v)
        self.repo.add(ag)
        self.repo.flush()
        return ag

    # -- series ------------------------------------------------------------------
    def create_series(self, data: dict[str, object]) -> Series:
        mt = self.get_type(str(data["meeting_type_id"]))
        invited = [str(a) for a in data.pop("invited_agency_ids", None) or []]  # type: ignore[attr-defined]
        self._check_agencies(invited, "invited_agency_ids")
        series = Series(**data, invited_agency_ids=json.dumps(invited))  # type: ignore[arg-type]
        if not data.get("duration_minutes"):
            series.duration_minutes = mt.default_duration_minutes
        self.repo.add(series)
        self.repo.flush()
        return series

    def get_series(self, series_id: str) -> Series:
        s = self.repo.series(series_id)
        if s is None:
            raise NotFound(f"Series {series_id} does not exist.")
        return s

    def _check_agencies(self, agency_ids: list[str], field: str) -> None:
        unknown = [a for a in agency_ids if self.repo.agency(a) is None]
        if unknown:
            raise ValidationProblem(
                [field_error(field, "unknown_agency", f"Unknown agency id(s): {', '.join(unknown)}")]
            )

    def default_series(self, type_id: str) -> Series:
        """The active series of a meeting type; one is created from settings if none exists."""
        for s in self.repo.series_list(type_id):
            if s.active:
                return s
        mt = self.get_type(type_id)
        agencies = [a.id for a in self.repo.agencies() if a.active]
        series = Series(
            meeting_type_id=type_id,
            title=mt.name,
            recurrence="monthly",
            weekday=self.settings.default_series_weekday,
            ordinal=self.settings.default_series_ordinal,
            start_time=self.settings.default_series_time,
            duration_minutes=mt.default_duration_minutes,
            invited_agency_ids=json.dumps(agencies),
        )
        self.repo.add(series)
        self.repo.flush()
        return series

    def schedule_series(self, series: Series, count: int, *, after: date | None = None) -> list[Meeting]:
        """Create the next `count` meetings of a series (existing dates are reused)."""
        rule = Rule(series.recurrence, series.weekday, series.ordinal)
        last = self.repo.last_meeting_of_series(series.id)
        start = after or self.today - timedelta(days=1)
        if last is not None and after is None:
            start = max(start, last.scheduled_on)
        out = []
        d = start
        for _ in range(count):
            d = next_occurrence(rule, d)
            out.append(self.repo.meeting_on(series.id, d) or self._meeting_from_series(series, d))
        return out

    def _meeting_from_series(self, series: Series, on: date) -> Meeting:
        mt = self.get_type(series.meeting_type_id)
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
        self.repo.add(meeting)
        self.repo.flush()
        for agency_id in json.loads(series.invited_agency_ids or "[]"):
            self._invite(meeting, agency_id)
        return meeting

    # -- meetings ----------------------------------------------------------------
    def create_meeting(self, data: dict[str, object], invited: list[str]) -> Meeting:
        mt = self.get_type(str(data["meeting_type_id"]))
        self._check_agencies(invited, "invited_agency_ids")
        meeting = Meeting(**data)  # type: ignore[arg-type]
        if not data.get("duration_minutes"):
            meeting.duration_minutes = mt.default_duration_minutes
        if not data.get("agenda_limit_minutes"):
            meeting.agenda_limit_minutes = mt.agenda_limit_minutes
        if not data.get("title"):
            meeting.title = f"{mt.name} {meeting.scheduled_on.isoformat()}"
        self.repo.add(meeting)
        self.repo.flush()
        for agency_id in invited:
            self._invite(meeting, agency_id)
        return meeting

    def get_meeting(self, meeting_id: str) -> Meeting:
        m = self.repo.meeting(meeting_id)
        if m is None:
            raise NotFound(f"Meeting {meeting_id} does not exist.")
        return m

    @staticmethod
    def ensure_open(meeting: Meeting) -> None:
        if meeting.status in ("closed", "cancelled"):
            raise Conflict(
                f"The meeting is {meeting.status}: its minutes are frozen; record corrections as addenda.",
                code="meeting_closed",
            )

    def next_meeting_for_new_cases(self) -> Meeting:
        """The next scheduled monthly meeting that is not closed (created from its series if none)."""
        type_id = self.settings.new_case_meeting_type
        self.ensure_default_types()
        found = self.repo.next_open_meeting(type_id, on_or_after=self.today)
        if found is not None:
            return found
        return self.schedule_series(self.default_series(type_id), 1)[0]

    def next_meeting_after(self, meeting: Meeting) -> Meeting:
        found = self.repo.meeting_after(meeting)
        if found is not None:
            return found
        series = self.repo.series(meeting.series_id) if meeting.series_id else None
        if series is None:
            series = self.default_series(meeting.meeting_type_id)
        return self.schedule_series(
            series, 1, after=max(meeting.scheduled_on, self.today - timedelta(days=1))
        )[0]

    def update_meeting(self, meeting: Meeting, fields: dict[str, object]) -> Meeting:
        self.ensure_open(meeting)
        for k, v in fields.items():
            if v is not None:
                setattr(meeting, k, v)
        self.repo.add(meeting)
        return meeting

    def start_meeting(self, meeting: Meeting) -> Meeting:
        if meeting.status != "scheduled":
            raise Conflict(f"Only a scheduled meeting can start; this one is {meeting.status}.")
        meeting.status = "in_progress"
        self.repo.add(meeting)
        return meeting

    def cancel_meeting(self, meeting: Meeting) -> Meeting:
        if meeting.status != "scheduled":
            raise Conflict(f"Only a scheduled meeting can be cancelled; this one is {meeting.status}.")
        meeting.status = "cancelled"
        self.repo.add(meeting)
        return meeting

    def mark_closed(self, meeting: Meeting) -> None:
        if meeting.status not in ("scheduled", "in_progress"):
            raise Conflict(f"The meeting is already {meeting.status}.", code="meeting_closed")
        meeting.status = "closed"
        meeting.closed_at = now()
        meeting.closed_by = self.uow.principal.subject
        self.repo.add(meeting)

    # -- invitations, apologies, attendance, quorum ------------------------------
    def _invite(self, meeting: Meeting, agency_id: str) -> Invitation:
        existing = self.repo.invitation(meeting.id, agency_id)
        if existing is not None:
            return existing
        agency = self.repo.agency(agency_id)
        if agency is None:
            raise NotFound(f"Agency {agency_id} does not exist.")
        inv = Invitation(
            meeting_id=meeting.id,
            agency_id=agency.id,
            agency_name=agency.name,
            contact_name=agency.spoc_name,
            contact_email=agency.spoc_email,
        )
        self.repo.add(inv)
        self.repo.flush()
        return inv

    def invite(self, meeting: Meeting, agency_id: str) -> Invitation:
        self.ensure_open(meeting)
        return self._invite(meeting, agency_id)

    def respond(
        self,
        meeting: Meeting,
        agency_id: str,
        *,
        response: str | None,
        apology_reason: str | None,
        attended: bool | None,
        attendees: str | None,
        contact_name: str | None,
    ) -> Invitation:
        self.ensure_open(meeting)
        inv = self.repo.invitation(meeting.id, agency_id)
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
        self.repo.add(inv)
        return inv

    def quorum(self, meeting: Meeting) -> tuple[int, int, bool]:
        """(agencies attending, agencies required, met)."""
        mt = self.get_type(meeting.meeting_type_id)
        present = sum(1 for i in self.repo.invitations(meeting.id) if i.attended)
        return present, mt.quorum_agencies, present >= mt.quorum_agencies

    def require_quorum(self, meeting: Meeting) -> None:
        mt = self.get_type(meeting.meeting_type_id)
        present, needed, ok = self.quorum(meeting)
        if mt.enforce_quorum and not ok:
            raise Conflict(
                f"Quorum not met: {present} of {needed} agencies attending.", code="quorum_not_met"
            )


def first_monthly_on_or_after(weekday: int, ordinal: int, day: date) -> date:
    """Convenience for seeds: the series date in `day`'s month, or the following month."""
    d = nth_weekday(day.year, day.month, weekday, ordinal)
    if d >= day:
        return d
    return next_occurrence(Rule("monthly", weekday, ordinal), day)
