"""Partner agencies and their single points of contact follow the referral-api's agency.changed."""

from __future__ import annotations

from typing import Any

from hhpu_shared.events.contracts.referral import AgencyChanged

API = "/api/v1"


def _changed(**kw: Any) -> AgencyChanged:
    base = {
        "agency_id": "ag-1",
        "name": "Housing Options",
        "agency_type": "housing",
        "contact_name": "Priya Shah",
    }
    return AgencyChanged(**{**base, **kw})


def test_registered_agency_becomes_invitable_and_changes_follow(harness: Any) -> None:
    h = harness
    env = h.emit(_changed(contact_email="priya@example.org"), "ag-1")
    h.publish(env)  # redelivered: no second effect
    h.consume()
    agencies = {
        a["id"]: a for a in h.client.get(f"{API}/meeting-agencies", headers=h.chair()).json()["items"]
    }
    assert agencies["ag-1"]["spoc_name"] == "Priya Shah" and agencies["ag-1"]["active"] is True
    assert agencies["ag-1"]["spoc_email"] == "priya@example.org"
    meeting = h.client.post(
        f"{API}/meetings",
        headers=h.chair(),
        json={"meeting_type_id": "monthly_mam", "scheduled_on": "2027-02-02", "invited_agency_ids": ["ag-1"]},
    )
    assert meeting.status_code == 201, meeting.text

    h.emit(_changed(contact_name="Sam Carter", active=False), "ag-1")
    h.consume()
    agencies = {
        a["id"]: a for a in h.client.get(f"{API}/meeting-agencies", headers=h.chair()).json()["items"]
    }
    assert agencies["ag-1"]["spoc_name"] == "Sam Carter" and agencies["ag-1"]["active"] is False
