"""Decisions, frozen minutes, addenda, attendance and the meeting pack over the API."""

from __future__ import annotations

from typing import Any

from hhpu_shared.audit import AuditEntry
from sqlmodel import Session, select

API = "/api/v1"


def first_item(h: Any, mid: str) -> dict[str, Any]:
    r = h.client.get(f"{API}/meetings/{mid}/agenda", headers=h.chair())
    return r.json()["kept"][0]  # type: ignore[no-any-return]


def setup_case(h: Any) -> tuple[str, dict[str, Any]]:
    h.emit(h.opened(1, "high", "Dean Marsh"), "asm-1")
    h.consume()
    mid = h.seed["next_meeting_id"]
    return mid, first_item(h, mid)


def decide(h: Any, mid: str, item_id: str, decision: str = "adopt", **extra: Any) -> Any:
    body = {"kind": "decision", "decision": decision, "decided_by": "DI Sarah Cole", **extra}
    return h.client.post(
        f"{API}/meetings/{mid}/agenda/items/{item_id}/outcomes", json=body, headers=h.chair()
    )


def test_a_decision_emits_exactly_one_event_and_cannot_be_recorded_twice(harness: Any) -> None:
    h = harness
    mid, item = setup_case(h)
    r = decide(h, mid, item["id"], reason="meets the HHPU criteria")
    assert r.status_code == 201, r.text
    assert r.json()["decision"] == "adopt" and r.json()["cohort"] == "hhpu"
    again = decide(h, mid, item["id"], "decline")
    assert again.status_code == 409 and again.json()["code"] == "decision_exists"
    events = h.events("meeting.decision_recorded")
    assert len(events) == 1
    data = events[0].data
    assert data["assessment_id"] == "asm-1" and data["person_id"] == "per-1" and data["item_id"] == item["id"]
    assert data["decision"] == "adopt" and data["decided_by"] == "DI Sarah Cole" and data["cohort"] == "hhpu"
    assert events[0].subject is not None and events[0].subject.id == "per-1"


def test_decision_validation(harness: Any) -> None:
    h = harness
    mid, item = setup_case(h)
    r = h.client.post(
        f"{API}/meetings/{mid}/agenda/items/{item['id']}/outcomes",
        json={"kind": "decision", "decision": "adopt"},
        headers=h.chair(),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "decision_required"
    r = h.client.post(
        f"{API}/meetings/{mid}/agenda/items", json={"title": "Housing update"}, headers=h.chair()
    )
    other = r.json()["id"]
    r = decide(h, mid, other)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "no_assessment"
    assert h.events("meeting.decision_recorded") == []


def test_deferred_decision_carries_the_case_to_the_next_meeting(harness: Any) -> None:
    h = harness
    mid, item = setup_case(h)
    url = f"{API}/meetings/{mid}/agenda/items/{item['id']}"
    r = h.client.patch(
        url, json={"planned_minutes": 12, "pinned": True, "minutes": "Report awaited."}, headers=h.chair()
    )
    assert r.status_code == 200, r.text
    assert h.client.put(
        f"{API}/meetings/{mid}/agenda/order", json={"item_ids": [item["id"]]}, headers=h.chair()
    )
    assert decide(h, mid, item["id"], "defer", reason="awaiting probation report").status_code == 201
    nxt = first_item(h, h.seed["meeting_ids"][1])
    assert nxt["assessment_id"] == "asm-1" and nxt["person_id"] == "per-1" and nxt["urgency"] == "high"
    assert nxt["carried_reason"] == "Decision deferred: awaiting probation report"
    assert nxt["source"] == "carried" and nxt["carried_from_meeting_id"] == mid
    # what a carried item keeps (the chair's time box and pin) and what stays behind (position, minute)
    assert nxt["planned_minutes"] == 12 and nxt["pinned"] is True
    assert nxt["position"] is None and nxt["minutes"] is None


def test_closing_freezes_the_minutes_and_corrections_are_addenda(harness: Any) -> None:
    h = harness
    mid, item = setup_case(h)
    url = f"{API}/meetings/{mid}/agenda/items/{item['id']}"
    r = h.client.patch(url, json={"minutes": "Probation shared the risk picture."}, headers=h.chair())
    assert r.status_code == 200 and r.json()["minutes"] == "Probation shared the risk picture."
    assert decide(h, mid, item["id"]).status_code == 201
    assert h.client.post(f"{API}/meetings/{mid}/start", headers=h.chair()).status_code == 200
    early = h.client.post(f"{API}/meetings/{mid}/addenda", json={"text": "x"}, headers=h.chair())
    assert early.status_code == 409
    r = h.client.post(f"{API}/meetings/{mid}/close", headers=h.chair())
    assert r.status_code == 200, r.text
    assert r.json()["meeting"]["status"] == "closed"

    edit = h.client.patch(url, json={"minutes": "rewritten"}, headers=h.chair())
    assert edit.status_code == 409 and edit.json()["code"] == "meeting_closed"
    assert edit.headers["content-type"].startswith("application/problem+json")
    for method, path, body in [
        ("post", f"{API}/meetings/{mid}/agenda/items", {"title": "late item"}),
        ("delete", url, None),
        ("post", f"{url}/outcomes", {"kind": "information", "text": "late"}),
        (
            "post",
            f"{API}/meetings/{mid}/actions",
            {"description": "d", "owner_name": "o", "owner_agency_id": "housing"},
        ),
        ("patch", f"{API}/meetings/{mid}/invitations/housing", {"attended": True}),
        ("post", f"{API}/meetings/{mid}/agenda/finalise", None),
        ("post", f"{API}/meetings/{mid}/close", None),
    ]:
        kwargs: dict[str, Any] = {"headers": h.chair()}
        if body is not None:
            kwargs["json"] = body
        resp = getattr(h.client, method)(path, **kwargs)
        assert resp.status_code == 409, (path, resp.text)
    assert first_item(h, mid)["minutes"] == "Probation shared the risk picture."

    r = h.client.post(
        f"{API}/meetings/{mid}/addenda",
        json={"text": "Correction: probation, not the CRC, shared it.", "item_id": item["id"]},
        headers=h.chair(),
    )
    assert r.status_code == 201, r.text
    listed = h.client.get(f"{API}/meetings/{mid}/addenda", headers=h.chair()).json()["items"]
    assert [a["text"] for a in listed] == ["Correction: probation, not the CRC, shared it."]
    pack = h.client.get(f"{API}/meetings/{mid}/pack", headers=h.chair())
    assert "Correction: probation" in pack.text and "minutes frozen" in pack.text


def test_attendance_apologies_quorum_and_pack(harness: Any) -> None:
    h = harness
    mid, item = setup_case(h)
    for agency in ["probation", "childrens_services", "housing", "drug_alcohol_service"]:
        r = h.client.patch(
            f"{API}/meetings/{mid}/invitations/{agency}", json={"attended": True}, headers=h.chair()
        )
        assert r.status_code == 200 and r.json()["attended"] is True
    r = h.client.patch(
        f"{API}/meetings/{mid}/invitations/adult_social_care",
        json={"response": "apologies", "apology_reason": "staff shortage"},
        headers=h.chair(),
    )
    assert r.json()["response"] == "apologies"
    m = h.client.get(f"{API}/meetings/{mid}", headers=h.chair()).json()
    assert m["agencies_attending"] == 4 and m["quorum_agencies"] == 3 and m["quorum_met"] is True
    decide(h, mid, item["id"])
    h.client.post(
        f"{API}/meetings/{mid}/agenda/items/{item['id']}/outcomes",
        json={
            "kind": "action",
            "description": "Housing to confirm the address by the 14th",
            "owner_name": "Priya Shah",
            "owner_agency_id": "housing",
        },
        headers=h.chair(),
    )
    full = h.client.get(f"{API}/meetings/{mid}/pack", headers=h.chair())
    assert "staff shortage" in full.text and "4 of 3 agencies (met)" in full.text
    r = h.client.get(
        f"{API}/meetings/{mid}/pack",
        params={"recipient": "housing"},
        headers={**h.chair(), "X-Justification": "circulating the pack to the SPOCs"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "Dean Marsh" in html and "adopt" in html and "DI Sarah Cole" in html
    assert "Housing to confirm the address by the 14th" in html
    # the recipient's version: nothing of the other agencies (their apologies, the quorum count)
    assert "staff shortage" not in html and "4 of 3 agencies" not in html
    with Session(h.runtime.engine) as s:
        audit = s.exec(select(AuditEntry).where(AuditEntry.subject_type == "meeting_pack")).all()
    assert [a.operation for a in audit] == ["consult", "disclose"] and audit[1].recipient == "housing"
    assert audit[1].justification == "circulating the pack to the SPOCs"


def test_enforced_quorum_blocks_decisions(harness: Any) -> None:
    h = harness
    mid, item = setup_case(h)
    r = h.client.put(
        f"{API}/meeting-types/monthly_mam",
        json={"name": "Monthly multi-agency meeting", "quorum_agencies": 2, "enforce_quorum": True},
        headers=h.chair(),
    )
    assert r.status_code == 200
    r = decide(h, mid, item["id"])
    assert r.status_code == 409 and r.json()["code"] == "quorum_not_met"
    for agency in ["probation", "housing"]:
        h.client.patch(
            f"{API}/meetings/{mid}/invitations/{agency}", json={"attended": True}, headers=h.chair()
        )
    assert decide(h, mid, item["id"]).status_code == 201


def test_agenda_consultation_is_audited(harness: Any) -> None:
    h = harness
    mid, _item = setup_case(h)
    with Session(h.runtime.engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.subject_type == "meeting_agenda")).all()
        collected = s.exec(select(AuditEntry).where(AuditEntry.operation == "collect")).all()
    assert rows and all(r.operation == "consult" and r.actor == "user:chair" for r in rows)
    assert any(c.subject_id == "per-1" for c in collected)
