"""Demo seed: agencies with their single points of contact, the monthly series, the next meeting.

    from meeting_service.seed import seed_demo
    seed_demo(app.state.runtime)            # idempotent; returns ids for the demo script

Agency ids should match the ids the gateway puts in partner identities; pass `agencies` to use
the platform's own ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from hhpu_shared import clock
from hhpu_shared.runtime import ServiceRuntime

from meeting_service.service import meetings
from meeting_service.settings import MeetingSettings

# (agency id, name, SPOC name, SPOC email): fictional contacts.
DEMO_AGENCIES: tuple[tuple[str, str, str, str], ...] = (
    ("probation", "Probation Service", "Grace Okafor", "spoc.probation@example.org"),
    ("childrens_services", "Children's Services", "Tom Reid", "spoc.childrens@example.org"),
    ("housing", "Housing", "Priya Shah", "spoc.housing@example.org"),
    ("drug_alcohol_service", "Drug and Alcohol Service", "Sam Carter", "spoc.das@example.org"),
    ("police_public_protection", "Police Public Protection Unit", "DS Alan Hughes", "spoc.ppu@example.org"),
    ("police_neighbourhood", "Police Neighbourhood Team", "PS Jo Evans", "spoc.nhood@example.org"),
    ("adult_social_care", "Adult Social Care", "Ruth Malik", "spoc.asc@example.org"),
)


def seed_demo(
    runtime: ServiceRuntime,
    *,
    agencies: Sequence[tuple[str, str, str, str]] = DEMO_AGENCIES,
    today: date | None = None,
    meetings_ahead: int = 2,
) -> dict[str, Any]:
    """Create the agencies, the monthly multi-agency series (all agencies invited) and its next meetings.

    The meeting types come from the migrations (reference data)."""
    settings = runtime.settings
    assert isinstance(settings, MeetingSettings)
    day = today or clock.today()
    with runtime.unit_of_work() as uow:
        for agency_id, name, spoc, email in agencies:
            meetings.upsert_agency(uow, agency_id, {"name": name, "spoc_name": spoc, "spoc_email": email})
        series = meetings.default_series(uow, settings, settings.new_case_meeting_type)
        invited = [a[0] for a in agencies]
        meetings.set_series_agencies(uow, series, invited)
        scheduled = meetings.schedule_series(uow, series, meetings_ahead, after=day - timedelta(days=1))
        for m in scheduled:
            for agency_id in invited:
                meetings.add_invitation(uow, m, agency_id)
        return {
            "series_id": series.id,
            "meeting_ids": [m.id for m in scheduled],
            "next_meeting_id": scheduled[0].id,
            "next_meeting_on": scheduled[0].scheduled_on.isoformat(),
            "agency_ids": invited,
        }
