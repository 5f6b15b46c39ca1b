"""Meeting types, agencies with their SPOC, recurring series and scheduling over the API."""

from __future__ import annotations

from datetime import date
from typing import Any

API = "/api/v1"


def test_weekday_briefing_series_is_scheduled_on_weekdays(harness: Any) -> None:
    h = harness
    r = h.client.post(
        f"{API}/series",
        json={
            "meeting_type_id": "daily_briefing",
            "title": "Morning briefing",
            "recurrence": "weekdays",
            "start_time": "08:30",
            "invited_agency_ids": ["police_neighbourhood"],
        },
        headers=h.chair(),
    )
    assert r.status_code == 201, r.text
    series = r.json()
    assert series["duration_minutes"] == 15 and series["invited_agency_ids"] == ["police_neighbourhood"]
    r = h.client.post(f"{API}/series/{series['id']}/schedule", json={"count": 6}, headers=h.chair())
    assert r.status_code == 201, r.text
    meetings = r.json()
    days = [date.fromisoformat(m["scheduled_on"]) for m in meetings]
    assert len(days) == 6 and all(d.weekday() < 5 for d in days) and days == sorted(set(days))
    assert all(m["agenda_limit_minutes"] == 15 and m["start_time"] == "08:30" for m in meetings)
    inv = meetings[0]["invitations"][0]
    assert inv["agency_id"] == "police_neighbourhood" and inv["contact_name"] == "PS Jo Evans"


def test_types_and_agencies_are_data(harness: Any) -> None:
    h = harness
    r = h.client.put(
        f"{API}/meeting-types/mappa_level2",
        json={"name": "MAPPA level 2 meeting", "agenda_limit_minutes": 90, "quorum_agencies": 2},
        headers=h.chair(),
    )
    assert r.status_code == 200 and r.json()["agenda_limit_minutes"] == 90
    types = {t["id"] for t in h.client.get(f"{API}/meeting-types", headers=h.chair()).json()["items"]}
    assert {"monthly_mam", "daily_briefing", "case_conference", "mappa_level2"} <= types
    r = h.client.put(
        f"{API}/meeting-agencies/housing",
        json={"name": "Housing", "spoc_name": "New Contact", "spoc_email": "new@example.org"},
        headers=h.chair(),
    )
    assert r.status_code == 200 and r.json()["spoc_name"] == "New Contact"
    assert (
        h.client.put(f"{API}/meeting-agencies/x", json={"name": "X"}, headers=h.staff("analyst")).status_code
        == 403
    )


def test_series_validation(harness: Any) -> None:
    h = harness
    r = h.client.post(
        f"{API}/series",
        json={"meeting_type_id": "monthly_mam", "title": "T", "ordinal": 0, "start_time": "25:00"},
        headers=h.chair(),
    )
    assert r.status_code == 422
    codes = {e["field"]: e["code"] for e in r.json()["errors"]}
    assert codes == {"ordinal": "invalid_ordinal", "start_time": "invalid_format"}
    r = h.client.post(
        f"{API}/series",
        json={"meeting_type_id": "monthly_mam", "title": "T", "invited_agency_ids": ["nobody"]},
        headers=h.chair(),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_agency"
    r = h.client.post(f"{API}/series", json={"meeting_type_id": "nope", "title": "T"}, headers=h.chair())
    assert r.status_code == 404
    assert h.client.get(f"{API}/series", headers=h.chair()).json()["total"] == 1  # only the seeded series


def test_next_meeting(harness: Any) -> None:
    h = harness
    r = h.client.get(f"{API}/meetings/next", headers=h.partner("housing"))
    assert r.status_code == 200 and r.json()["id"] == h.seed["next_meeting_id"]
    assert [i["agency_id"] for i in r.json()["invitations"]] == ["housing"]
    r = h.client.get(f"{API}/meetings/next", params={"meeting_type_id": "case_conference"}, headers=h.chair())
    assert r.status_code == 404
