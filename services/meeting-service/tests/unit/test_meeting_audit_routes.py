"""Must-show 1 for the meeting-service: every route is in one of two tables. A route that returns (or
changes and returns) a person's data writes one audit entry per person shown, with actor, time,
justification and operation (`SHOWS`); every other route says why it shows no one (`NO_PERSON`). A
new route fails `test_every_route_is_classified` until it is put in one of them."""

from __future__ import annotations

from typing import Any

import pytest
from hhpu_shared.testing.audit_routes import (
    SKELETON_NO_PERSON,
    Shown,
    exercise,
    unlisted,
)
from hhpu_shared.testing.plugin import identity_headers

API = "/api/v1"
WHY = "audit coverage: monthly meeting"
CHAIR = "meeting_chair"
DPO = "data_protection_officer"


def base(h: Any) -> dict[str, Any]:
    """Two people on the next meeting's agenda (per-1 Dean Marsh, per-2 Ava Stone), an action about
    per-1 and an information outcome on per-1's item."""
    for n, label in ((1, "Dean Marsh"), (2, "Ava Stone")):
        h.emit(h.opened(n, "high", label), f"asm-{n}")
    h.consume()
    mid = h.seed["next_meeting_id"]
    kept = h.client.get(f"{API}/meetings/{mid}/agenda", headers=h.chair()).json()["kept"]
    items = {i["person_id"]: i["id"] for i in kept}
    body = {
        "description": "Housing to confirm the address",
        "owner_name": "Housing SPOC",
        "owner_agency_id": "housing",
    }
    action = h.client.post(
        f"{API}/meetings/{mid}/actions", json={**body, "person_id": "per-1"}, headers=h.chair()
    )
    assert action.status_code == 201, action.text
    info = {"kind": "information", "text": "Police update on Dean Marsh"}
    r = h.client.post(
        f"{API}/meetings/{mid}/agenda/items/{items['per-1']}/outcomes", json=info, headers=h.chair()
    )
    assert r.status_code == 201, r.text
    return {"mid": mid, "items": items, "action": action.json()["id"]}


def closed(h: Any) -> dict[str, Any]:
    """`base`, then the meeting held and closed, with an addendum on per-1's item."""
    ctx = base(h)
    mid = ctx["mid"]
    for step in ("start", "close"):
        r = h.client.post(f"{API}/meetings/{mid}/{step}", headers=h.chair())
        assert r.status_code == 200, r.text
    add = {"text": "Correction: probation shared it.", "item_id": ctx["items"]["per-1"]}
    assert h.client.post(f"{API}/meetings/{mid}/addenda", json=add, headers=h.chair()).status_code == 201
    return ctx


BOTH = {"per-1", "per-2"}
ONE = {"per-1"}
M = "/api/v1/meetings/{meeting_id}"

SHOWS: dict[str, Shown] = {
    f"GET {M}/agenda": Shown(lambda c: f"{API}/meetings/{c['mid']}/agenda", lambda c: BOTH, CHAIR),
    f"POST {M}/agenda/finalise": Shown(
        lambda c: f"{API}/meetings/{c['mid']}/agenda/finalise", lambda c: BOTH, CHAIR, "alter"
    ),
    f"POST {M}/agenda/items": Shown(
        lambda c: f"{API}/meetings/{c['mid']}/agenda/items",
        lambda c: {"per-9"},
        CHAIR,
        "collect",
        body=lambda c: {"kind": "review", "title": "Review", "person_id": "per-9", "person_label": "Kim Ray"},
        status=201,
    ),
    f"PATCH {M}/agenda/items/{{item_id}}": Shown(
        lambda c: f"{API}/meetings/{c['mid']}/agenda/items/{c['items']['per-2']}",
        lambda c: {"per-2"},
        CHAIR,
        "alter",
        body=lambda c: {"planned_minutes": 12},
    ),
    f"DELETE {M}/agenda/items/{{item_id}}": Shown(
        lambda c: f"{API}/meetings/{c['mid']}/agenda/items/{c['items']['per-2']}",
        lambda c: {"per-2"},
        CHAIR,
        "alter",
    ),
    f"PUT {M}/agenda/order": Shown(
        lambda c: f"{API}/meetings/{c['mid']}/agenda/order",
        lambda c: BOTH,
        CHAIR,
        "alter",
        body=lambda c: {"item_ids": [c["items"]["per-2"], c["items"]["per-1"]]},
    ),
    f"POST {M}/agenda/items/{{item_id}}/outcomes": Shown(
        lambda c: f"{API}/meetings/{c['mid']}/agenda/items/{c['items']['per-2']}/outcomes",
        lambda c: {"per-2"},
        CHAIR,
        "collect",
        body=lambda c: {"kind": "decision", "decision": "adopt", "decided_by": "DI Sarah Cole"},
        status=201,
    ),
    f"GET {M}/outcomes": Shown(lambda c: f"{API}/meetings/{c['mid']}/outcomes", lambda c: ONE, CHAIR),
    f"POST {M}/actions": Shown(
        lambda c: f"{API}/meetings/{c['mid']}/actions",
        lambda c: {"per-2"},
        CHAIR,
        "collect",
        body=lambda c: {
            "description": "GP letter",
            "owner_name": "GP",
            "owner_agency_id": "housing",
            "person_id": "per-2",
        },
        status=201,
    ),
    f"POST {M}/addenda": Shown(
        lambda c: f"{API}/meetings/{c['mid']}/addenda",
        lambda c: ONE,
        CHAIR,
        "collect",
        body=lambda c: {"text": "Second correction.", "item_id": c["items"]["per-1"]},
        setup=closed,
        status=201,
    ),
    f"GET {M}/addenda": Shown(
        lambda c: f"{API}/meetings/{c['mid']}/addenda", lambda c: ONE, CHAIR, setup=closed
    ),
    f"GET {M}/pack": Shown(lambda c: f"{API}/meetings/{c['mid']}/pack", lambda c: BOTH, CHAIR),
    f"GET {M}/minutes": Shown(lambda c: f"{API}/meetings/{c['mid']}/minutes", lambda c: BOTH, "analyst"),
    "GET /api/v1/actions": Shown(
        lambda c: f"{API}/actions?meeting_id={c['mid']}", lambda c: ONE, "offender_manager"
    ),
    "GET /api/v1/actions/{action_id}": Shown(
        lambda c: f"{API}/actions/{c['action']}", lambda c: ONE, "analyst"
    ),
    "POST /api/v1/actions/{action_id}/status": Shown(
        lambda c: f"{API}/actions/{c['action']}/status",
        lambda c: ONE,
        CHAIR,
        "alter",
        body=lambda c: {"status": "done"},
    ),
    "POST /api/v1/actions/{action_id}/carry-over": Shown(
        lambda c: f"{API}/actions/{c['action']}/carry-over",
        lambda c: ONE,
        CHAIR,
        "alter",
        body=lambda c: {"reason_code": "not_done_by_agency", "reason": "Housing was short-staffed"},
    ),
    "GET /api/v1/audit/{service}": Shown(
        lambda c: f"{API}/audit/meeting-service?person=per-1", lambda c: ONE, DPO
    ),
    "GET /api/v1/audit/{service}/references": Shown(
        lambda c: f"{API}/audit/meeting-service/references?person=per-1", lambda c: ONE, DPO
    ),
    "GET /api/v1/subject-access/{service}": Shown(
        lambda c: f"{API}/subject-access/meeting-service?person=per-1", lambda c: ONE, DPO, "disclose"
    ),
}

NO_PERSON: dict[str, str] = {
    **SKELETON_NO_PERSON,
    "GET /api/v1/meeting-types": "meeting types: names, lengths and limits",
    "PUT /api/v1/meeting-types/{type_id}": "a meeting type",
    "GET /api/v1/meeting-agencies": "partner agencies (organisations and their contacts), no data subject",
    "PUT /api/v1/meeting-agencies/{agency_id}": "a partner agency",
    "POST /api/v1/series": "a series of meetings: dates and invited agencies",
    "GET /api/v1/series": "series of meetings: dates and invited agencies",
    "POST /api/v1/series/{series_id}/schedule": "the meetings of a series: dates, invitations, quorum",
    "POST /api/v1/meetings": "a meeting: date, place, invitations (agencies), quorum",
    "GET /api/v1/meetings": "meetings: dates, invitations and attendance of agencies, no agenda",
    "GET /api/v1/meetings/next": "the next meeting's date, invitations and quorum, no agenda",
    f"GET {M}": "a meeting's date, invitations and quorum, no agenda",
    f"PATCH {M}": "a meeting's date, place and length",
    f"POST {M}/start": "the meeting's state (invitations and quorum)",
    f"POST {M}/cancel": "the meeting's state (invitations and quorum)",
    f"POST {M}/close": "the meeting's state and how many items and actions moved on (counts)",
    f"POST {M}/invitations": "an agency's invitation",
    f"PATCH {M}/invitations/{{agency_id}}": "an agency's attendance or apology",
    "POST /api/v1/actions/overdue-sweep": "the ids of the actions flagged overdue",
}


def test_every_route_is_classified(shared_harness: Any) -> None:
    assert unlisted(shared_harness.client.app, SHOWS, NO_PERSON) == {
        "unclassified": [],
        "stale": [],
        "both": [],
        "unexplained": [],
    }


@pytest.mark.parametrize("route", sorted(SHOWS))
def test_each_person_shown_is_audited_with_actor_time_justification_operation(
    harness: Any, route: str
) -> None:
    case = SHOWS[route]
    ctx = (case.setup or base)(harness)
    actor = f"user:{case.role}"
    headers = identity_headers(case.role, subject=actor) | {"X-Justification": WHY}
    assert exercise(harness.client, harness.runtime.engine, route, case, ctx, headers, actor, WHY) == []
