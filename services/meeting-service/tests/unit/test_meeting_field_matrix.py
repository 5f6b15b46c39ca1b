"""Must-show 2 for the meeting-service: the role x route x field matrix.

Every route that carries a person's identity or narrative, for every role: whether the role is
refused, sees references only (identity and narrative withheld), sees everything, or (a partner
agency) sees its own subjects and nothing of another agency's. The fields are checked against what
the meeting chair sees, and the setup makes every checked field non-empty, so a withheld field and a
leaked one both show. Roles: the four who work the meeting or its cases and the administrator (all),
the analyst (references), the data protection officer (refused: subject access is their route),
housing (owns an action about Dean Marsh) and probation (owns nothing here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hhpu_shared.testing.plugin import identity_headers
from hhpu_shared.visibility import WITHHELD

API = "/api/v1"
WHY = {"X-Justification": "field matrix: monthly meeting"}
DEAN, AVA, KIM = "Dean Marsh", "Ava Stone", "Kim Ray"

ALL, REFS, REFUSED, OWN, OTHER = "all", "references only", "refused", "own agency", "another agency"
ROLES: dict[str, str] = {
    "meeting_chair": ALL,
    "unit_supervisor": ALL,
    "offender_manager": ALL,
    "administrator": ALL,
    "analyst": REFS,
    "data_protection_officer": REFUSED,
    "partner:housing": OWN,
    "partner:probation": OTHER,
}


def headers(role: str) -> dict[str, str]:
    if role.startswith("partner:"):
        agency = role.split(":", 1)[1]
        return identity_headers("partner_agency", subject=f"agency:{agency}", agency_id=agency)
    return identity_headers(role, subject=f"user:{role}") | WHY


def items_of(agenda: dict[str, Any]) -> list[dict[str, Any]]:
    return [*agenda["kept"], *(d["item"] for d in agenda["to_defer"]), *agenda["moved"], *agenda["removed"]]


def agenda_fields(*keys: str) -> Callable[[dict[str, Any]], dict[str, list[Any]]]:
    def fields(body: dict[str, Any]) -> dict[str, list[Any]]:
        items = sorted(items_of(body), key=lambda i: i["id"])
        return {k: [i[k] for i in items] for k in keys}

    return fields


def page_fields(*keys: str) -> Callable[[dict[str, Any]], dict[str, list[Any]]]:
    def fields(body: dict[str, Any]) -> dict[str, list[Any]]:
        rows = body["items"] if "items" in body else [body]
        out = {k: [r[k] for r in rows] for k in keys}
        if rows and "carries" in rows[0]:
            out["carries.reason"] = [c["reason"] for r in rows for c in r["carries"]]
        return out

    return fields


def setup(h: Any) -> dict[str, str]:
    """Meeting M: Dean (per-1) and Ava (per-2) from assessments, Kim (per-3) added by hand over the
    time limit and deferred at finalising (to meeting N, carried with the reason); an information
    outcome and a housing action on Dean's item, a decision with a reason on Ava's; the action's
    status note and a carry-over; M closed and an addendum on Dean's item."""
    for n, label in ((1, DEAN), (2, AVA)):
        h.emit(h.opened(n, "high", label), f"asm-{n}")
    h.consume()
    mid = h.seed["next_meeting_id"]
    chair = h.chair()

    def ok(r: Any, status: int = 200) -> Any:
        assert r.status_code == status, r.text
        return r.json()

    kept = ok(h.client.get(f"{API}/meetings/{mid}/agenda", headers=chair))["kept"]
    item = {i["person_id"]: i["id"] for i in kept}
    for pid in item:
        body = {"notes": f"Notes about {pid}", "minutes": f"Minute on {pid}"}
        ok(h.client.patch(f"{API}/meetings/{mid}/agenda/items/{item[pid]}", json=body, headers=chair))
    kim = {"kind": "review", "title": f"Review of {KIM}", "person_id": "per-3", "person_label": KIM}
    ok(
        h.client.post(
            f"{API}/meetings/{mid}/agenda/items",
            json={**kim, "planned_minutes": 120, "pinned": False},
            headers=chair,
        ),
        201,
    )
    finalised = ok(h.client.post(f"{API}/meetings/{mid}/agenda/finalise", headers=chair))
    assert finalised["moved_to_meeting_id"], "Kim's item was deferred"
    outcomes = f"{API}/meetings/{mid}/agenda/items/{{}}/outcomes"
    ok(
        h.client.post(
            outcomes.format(item["per-1"]),
            json={"kind": "information", "text": f"{DEAN} moved"},
            headers=chair,
        ),
        201,
    )
    action = {
        "kind": "action",
        "description": f"Housing to confirm {DEAN}'s address",
        "owner_name": "Housing SPOC",
        "owner_agency_id": "housing",
    }
    act = ok(h.client.post(outcomes.format(item["per-1"]), json=action, headers=chair), 201)["action_id"]
    decision = {
        "kind": "decision",
        "decision": "adopt",
        "decided_by": "DI Sarah Cole",
        "reason": f"{AVA} meets the criteria",
    }
    ok(h.client.post(outcomes.format(item["per-2"]), json=decision, headers=chair), 201)
    carry = {"reason_code": "in_progress", "reason": f"{DEAN} not yet visited"}
    ok(h.client.post(f"{API}/actions/{act}/carry-over", json=carry, headers=chair))
    ok(
        h.client.post(
            f"{API}/actions/{act}/status", json={"status": "done", "note": f"{DEAN} seen"}, headers=chair
        )
    )
    for step in ("start", "close"):
        ok(h.client.post(f"{API}/meetings/{mid}/{step}", headers=chair))
    add = {"text": f"Correction about {DEAN}", "item_id": item["per-1"]}
    ok(h.client.post(f"{API}/meetings/{mid}/addenda", json=add, headers=chair), 201)
    return {"mid": mid, "next": finalised["moved_to_meeting_id"], "action": act}


JSON_ROUTES: dict[
    str, tuple[Callable[[dict[str, str]], str], Callable[[dict[str, Any]], dict[str, list[Any]]]]
] = {
    "agenda": (
        lambda c: f"{API}/meetings/{c['mid']}/agenda",
        agenda_fields("person_label", "title", "notes", "minutes", "deferred_reason"),
    ),
    "agenda (carried)": (
        lambda c: f"{API}/meetings/{c['next']}/agenda",
        agenda_fields("person_label", "title", "carried_reason"),
    ),
    "outcomes": (lambda c: f"{API}/meetings/{c['mid']}/outcomes", page_fields("text", "reason")),
    "addenda": (lambda c: f"{API}/meetings/{c['mid']}/addenda", page_fields("text")),
    "actions": (lambda c: f"{API}/actions?meeting_id={c['mid']}", page_fields("description", "status_note")),
    "action": (lambda c: f"{API}/actions/{c['action']}", page_fields("description", "status_note")),
}
# What each kind of role gets from a JSON route: its status, or "all"/"withheld"/"empty".
JSON_EXPECT: dict[str, dict[str, Any]] = {
    "agenda": {ALL: ALL, REFS: REFS, REFUSED: 403, OWN: 403, OTHER: 403},
    "agenda (carried)": {ALL: ALL, REFS: REFS, REFUSED: 403, OWN: 403, OTHER: 403},
    "outcomes": {ALL: ALL, REFS: REFS, REFUSED: 403, OWN: 403, OTHER: 403},
    "addenda": {ALL: ALL, REFS: REFS, REFUSED: 403, OWN: 403, OTHER: 403},
    "actions": {ALL: ALL, REFS: REFS, REFUSED: 403, OWN: ALL, OTHER: "empty"},
    "action": {ALL: ALL, REFS: REFS, REFUSED: 403, OWN: ALL, OTHER: 404},
}


def _shown(v: Any) -> bool:
    return v not in (None, WITHHELD, "", [])


@pytest.fixture(scope="module")
def world(shared_harness: Any) -> tuple[Any, dict[str, str]]:
    return shared_harness, setup(shared_harness)


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("route", sorted(JSON_ROUTES))
def test_json_routes(world: tuple[Any, dict[str, str]], route: str, role: str) -> None:
    h, ctx = world
    path, fields = JSON_ROUTES[route]
    full = fields(h.client.get(path(ctx), headers=h.chair()).json())
    assert all(any(_shown(v) for v in vs) for vs in full.values()), (route, "setup fills every field", full)
    want = JSON_EXPECT[route][ROLES[role]]
    r = h.client.get(path(ctx), headers=headers(role))
    if isinstance(want, int):
        assert r.status_code == want and r.headers["content-type"] == "application/problem+json", (
            route,
            role,
        )
        return
    assert r.status_code == 200, (route, role, r.text)
    got = fields(r.json())
    if want == "empty":
        assert r.json()["items"] == [], (route, role)
    elif want == ALL:
        assert got == full, (route, role)
    else:  # references only: the same rows, every identity and narrative field withheld
        assert {k: len(v) for k, v in got.items()} == {k: len(v) for k, v in full.items()}, (route, role)
        leaked = {k: v for k, v in got.items() if any(_shown(x) for x in v)}
        assert leaked == {}, (route, role)
        body = r.json()
        refs = (
            [i["person_id"] for i in items_of(body)]
            if "kept" in body
            else [x.get("id") for x in body.get("items", [body])]
        )
        assert refs and all(refs), (route, role, "references are shown")


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("document", ["pack", "minutes"])
def test_documents(world: tuple[Any, dict[str, str]], document: str, role: str) -> None:
    h, ctx = world
    r = h.client.get(f"{API}/meetings/{ctx['mid']}/{document}", headers=headers(role))
    kind = ROLES[role]
    if kind == REFUSED:
        assert r.status_code == 403, (document, role)
        return
    assert r.status_code == 200, (document, role, r.text)
    text = r.text
    names = {n for n in (DEAN, AVA) if n in text}
    narrative = {
        t for t in ("Minute on per-1", f"{AVA} meets the criteria", f"Correction about {DEAN}") if t in text
    }
    if kind == ALL:
        assert names == {DEAN, AVA} and narrative, (document, role)
    elif kind == REFS:
        assert names == set() and narrative == set() and WITHHELD in text, (document, role)
    elif kind == OWN:  # housing's version: only the item where it owns an action
        assert names == {DEAN} and "Housing to confirm" in text, (document, role)
    else:
        assert names == set() and "Housing to confirm" not in text, (document, role)
