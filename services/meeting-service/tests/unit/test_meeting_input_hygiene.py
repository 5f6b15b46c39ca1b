"""Control characters, implausible dates and bools or strings posing as numbers are refused in every
meeting-service input with problem+json, a code for the field, and nothing stored."""

from __future__ import annotations

from typing import Any

import pytest
from hhpu_shared.testing.databases import row_counts

API = "/api/v1"
CC = "control_character"
MEETING = {"meeting_type_id": "case_conference", "scheduled_on": "2027-01-12"}
ITEM = {"title": "Partnership update"}
ACTION = {"description": "Housing to confirm the address", "owner_name": "SPOC", "owner_agency_id": "housing"}
ITEMS = "/meetings/{meeting}/agenda/items"
OUTCOMES = ITEMS + "/{item}/outcomes"

# (label, method, path with {ids}, body, field, code)
CASES: list[tuple[str, str, str, Any, str, str]] = [
    ("NUL in a type name", "PUT", "/meeting-types/case_conference", {"name": "Case\x00"}, "name", CC),
    ("NUL in a new type id", "PUT", "/meeting-types/case%00x", {"name": "Case"}, "path", CC),
    (
        "bidi override in a new type id",
        "PUT",
        "/meeting-types/case%E2%80%AEx",
        {"name": "Case"},
        "path.type_id",
        CC,
    ),
    ("NUL in a filter", "GET", "/meetings?status=open%00", None, "query", CC),
    (
        "tab in a contact",
        "PUT",
        "/meeting-agencies/housing",
        {"name": "Housing", "spoc_name": "Priya\tShah"},
        "spoc_name",
        CC,
    ),
    (
        "active as text",
        "PUT",
        "/meeting-agencies/housing",
        {"name": "Housing", "active": "true"},
        "active",
        "not_a_boolean",
    ),
    (
        "newline in a series title",
        "POST",
        "/series",
        {"meeting_type_id": "monthly_mam", "title": "HHPU\nX"},
        "title",
        CC,
    ),
    (
        "weekday true",
        "POST",
        "/series",
        {"meeting_type_id": "monthly_mam", "title": "T", "weekday": True},
        "weekday",
        "not_an_integer",
    ),
    (
        "meeting in 9999",
        "POST",
        "/meetings",
        MEETING | {"scheduled_on": "9999-12-31"},
        "scheduled_on",
        "date_too_late",
    ),
    (
        "meeting in 176",
        "POST",
        "/meetings",
        MEETING | {"scheduled_on": "0176-01-01"},
        "scheduled_on",
        "date_too_early",
    ),
    ("NUL in a meeting title", "POST", "/meetings", MEETING | {"title": "Case\x00conference"}, "title", CC),
    (
        "duration as text",
        "POST",
        "/meetings",
        MEETING | {"duration_minutes": "90"},
        "duration_minutes",
        "not_an_integer",
    ),
    (
        "meeting moved to 2999",
        "PATCH",
        "/meetings/{meeting}",
        {"scheduled_on": "2999-01-01"},
        "scheduled_on",
        "date_too_late",
    ),
    (
        "line separator in a chair",
        "PATCH",
        "/meetings/{meeting}",
        {"chair_name": "DI\u2028Cole"},
        "chair_name",
        CC,
    ),
    ("NUL in an item title", "POST", ITEMS, ITEM | {"title": "Update\x00"}, "title", CC),
    ("NUL in item notes", "POST", ITEMS, ITEM | {"notes": "a\x00b"}, "notes", CC),
    ("minutes true", "POST", ITEMS, ITEM | {"planned_minutes": True}, "planned_minutes", "not_an_integer"),
    ("pinned yes", "POST", ITEMS, ITEM | {"pinned": "yes"}, "pinned", "not_a_boolean"),
    ("escape in a minute", "PATCH", ITEMS + "/{item}", {"minutes": "agreed\x1b[2J"}, "minutes", CC),
    (
        "NUL in an order",
        "PUT",
        "/meetings/{meeting}/agenda/order",
        {"item_ids": ["{item}\x00"]},
        "item_ids.0",
        CC,
    ),
    ("NUL in information", "POST", OUTCOMES, {"kind": "information", "text": "x\x00"}, "text", CC),
    (
        "newline in a decider",
        "POST",
        OUTCOMES,
        {"kind": "decision", "decision": "adopt", "decided_by": "DI\nCole"},
        "decided_by",
        CC,
    ),
    (
        "action due in 2999",
        "POST",
        OUTCOMES,
        {"kind": "action", **ACTION, "due_date": "2999-01-01"},
        "due_date",
        "date_too_late",
    ),
    (
        "NUL in an owner",
        "POST",
        "/meetings/{meeting}/actions",
        ACTION | {"owner_name": "SP\x00OC"},
        "owner_name",
        CC,
    ),
    (
        "action due in 2000",
        "POST",
        "/meetings/{meeting}/actions",
        ACTION | {"due_date": "2000-01-01"},
        "due_date",
        "date_too_early",
    ),
    (
        "NUL in a status note",
        "POST",
        "/actions/{action}/status",
        {"status": "done", "note": "\x00"},
        "note",
        CC,
    ),
    ("NUL in a carry reason", "POST", "/actions/{action}/carry-over", {"reason": "later\x00"}, "reason", CC),
    ("NUL in an addendum", "POST", "/meetings/{meeting}/addenda", {"text": "late\x00"}, "text", CC),
    (
        "attended as text",
        "PATCH",
        "/meetings/{meeting}/invitations/housing",
        {"attended": "true"},
        "attended",
        "not_a_boolean",
    ),
    (
        "NUL in apologies",
        "PATCH",
        "/meetings/{meeting}/invitations/housing",
        {"response": "apologies", "apology_reason": "\x00"},
        "apology_reason",
        CC,
    ),
]


@pytest.fixture(scope="module")
def ids(shared_harness: Any) -> dict[str, str]:
    h = shared_harness
    mid = h.seed["next_meeting_id"]
    item = h.client.post(f"{API}/meetings/{mid}/agenda/items", json=ITEM, headers=h.chair())
    action = h.client.post(f"{API}/meetings/{mid}/actions", json=ACTION, headers=h.chair())
    assert item.status_code == 201 and action.status_code == 201, (item.text, action.text)
    return {"meeting": mid, "item": item.json()["id"], "action": action.json()["id"]}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("label", "method", "path", "body", "field", "code"), CASES, ids=[c[0] for c in CASES]
)
def test_refused_with_field_code_and_nothing_stored(
    shared_harness: Any,
    ids: dict[str, str],
    label: str,
    method: str,
    path: str,
    body: Any,
    field: str,
    code: str,
) -> None:
    h = shared_harness
    before = row_counts(h.runtime.engine)
    r = h.client.request(method, API + _fill(path, ids), json=_fill(body, ids), headers=h.chair())
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert (field, code) in [(e["field"], e["code"]) for e in r.json()["errors"]], r.json()["errors"]
    assert row_counts(h.runtime.engine) == before


def test_minutes_keep_their_lines_and_tabs(shared_harness: Any, ids: dict[str, str]) -> None:
    h = shared_harness
    minutes = "Agreed:\n\t1. Housing to confirm.\r\n\t2. Review next month."
    url = f"{API}/meetings/{ids['meeting']}/agenda/items/{ids['item']}"
    r = h.client.patch(url, json={"minutes": minutes}, headers=h.chair())
    assert r.status_code == 200, r.text
    assert r.json()["minutes"] == minutes
