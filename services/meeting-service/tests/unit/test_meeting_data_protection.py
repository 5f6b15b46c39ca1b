"""Data protection in the meeting-service: one audit entry per person on every route that shows
people (agenda, pack, outcomes, actions), restriction, erasure. The role x route x field matrix is
test_meeting_field_matrix.py; every route's audit, test_meeting_audit_routes.py."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hhpu_shared.audit import AuditEntry
from hhpu_shared.events.contracts.case import PersonErased, PersonRestricted
from hhpu_shared.events.contracts.ranking import RankingRunCompleted
from hhpu_shared.testing.plugin import identity_headers
from hhpu_shared.testing.scan import find_strings
from sqlmodel import Session, col, select

API = "/api/v1"
WHY = "preparing the monthly multi-agency meeting"


def setup(h: Any) -> tuple[str, str]:
    """Two people on the next meeting's agenda and an action about the first."""
    for n, label in ((1, "Dean Marsh"), (2, "Ava Stone")):
        h.emit(h.opened(n, "high", label), f"asm-{n}")
    h.consume()
    mid = h.seed["next_meeting_id"]
    body = {
        "description": "Housing to confirm Dean Marsh's address",
        "owner_name": "Housing SPOC",
        "owner_agency_id": "housing",
        "person_id": "per-1",
    }
    r = h.client.post(f"{API}/meetings/{mid}/actions", json=body, headers=h.chair())
    assert r.status_code == 201, r.text
    return mid, r.json()["id"]


def audit_rows(h: Any, since_id: int) -> list[AuditEntry]:
    with Session(h.runtime.engine) as s:
        return list(s.exec(select(AuditEntry).where(col(AuditEntry.id) > since_id)).all())


def last_id(h: Any) -> int:
    with Session(h.runtime.engine) as s:
        rows = s.exec(select(AuditEntry.id).order_by(col(AuditEntry.id).desc()).limit(1)).all()
    return int(rows[0] or 0) if rows else 0


def routes(mid: str, action_id: str) -> dict[str, tuple[str, set[str]]]:
    """route -> (path, people it shows)."""
    return {
        "agenda": (f"{API}/meetings/{mid}/agenda", {"per-1", "per-2"}),
        "pack": (f"{API}/meetings/{mid}/pack", {"per-1", "per-2"}),
        "actions": (f"{API}/actions?meeting_id={mid}", {"per-1"}),
        "action": (f"{API}/actions/{action_id}", {"per-1"}),
    }


def test_each_person_shown_gets_an_audit_entry_with_actor_time_justification_operation(harness: Any) -> None:
    h = harness
    mid, action_id = setup(h)
    for route, (path, people) in routes(mid, action_id).items():
        before = last_id(h)
        r = h.client.get(
            path, headers=identity_headers("meeting_chair", subject="user:chair") | {"X-Justification": WHY}
        )
        assert r.status_code == 200, (route, r.text)
        rows = audit_rows(h, before)
        assert {e.person_ref for e in rows} == people, route
        for e in rows:
            assert (e.actor, e.operation, e.justification) == ("user:chair", "consult", WHY), route
            assert e.at is not None and e.correlation_id, route
    # The outcomes list: the person each outcome is about.
    item = next(i for i in h.client.get(f"{API}/meetings/{mid}/agenda", headers=h.chair()).json()["kept"])
    h.client.post(
        f"{API}/meetings/{mid}/agenda/items/{item['id']}/outcomes",
        json={"kind": "information", "text": "Police update"},
        headers=h.chair(),
    )
    before = last_id(h)
    assert h.client.get(f"{API}/meetings/{mid}/outcomes", headers=h.chair()).status_code == 200
    assert {e.person_ref for e in audit_rows(h, before)} == {item["person_id"]}
    # Sending the pack is a disclosure to its recipient.
    before = last_id(h)
    h.client.get(f"{API}/meetings/{mid}/pack?recipient=probation", headers=h.chair())
    assert {(e.operation, e.recipient) for e in audit_rows(h, before)} == {("disclose", "probation")}


def test_missing_justification_is_a_problem_and_writes_nothing(harness: Any) -> None:
    h = harness
    mid, action_id = setup(h)
    for route, (path, _people) in routes(mid, action_id).items():
        before = last_id(h)
        r = h.client.get(path, headers=identity_headers("meeting_chair", subject="user:chair"))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", route
        assert r.json()["errors"][0]["field"] == "X-Justification"
        assert audit_rows(h, before) == [], route


def test_restricted_person_is_not_put_on_an_agenda_and_erasure_removes_name_and_text(harness: Any) -> None:
    h = harness
    mid, _action_id = setup(h)
    h.emit(
        PersonRestricted(
            person_id="per-3",
            references=(),
            restricted=True,
            decision_id="d1",
            decided_by="dpo",
            reason_code="other",
        ),
        "per-3",
    )
    h.consume()  # the restriction is known before the person's assessment arrives (other topic)
    h.emit(h.opened(3, "high", "Rita Restricted"), "asm-3")
    h.emit(
        PersonErased(
            person_id="per-1",
            references=("R-1",),
            decision_id="d2",
            decided_by="user:dpo",
            reason_code="erasure_request",
            reason="s.47 request upheld",
        ),
        "per-1",
    )
    h.consume()
    agenda = h.client.get(f"{API}/meetings/{mid}/agenda", headers=h.chair()).text
    assert "Rita Restricted" not in agenda and "per-3" not in agenda
    assert "Dean Marsh" not in agenda and "per-1" not in agenda and "Ava Stone" in agenda
    assert "Dean Marsh" not in h.client.get(f"{API}/meetings/{mid}/pack", headers=h.chair()).text
    with Session(h.runtime.engine) as s:
        erased = s.exec(select(AuditEntry).where(AuditEntry.operation == "erase")).all()
    assert {e.person_ref for e in erased} == {"per-1", "R-1"}
    assert all(e.justification == "erasure_request: s.47 request upheld" for e in erased)
    assert all('"decided_by": "user:dpo"' in (e.detail or "") for e in erased)


def test_erasure_leaves_no_name_in_any_column_free_text_and_outbox_included(harness: Any) -> None:
    """Minutes, an outcome's reason, an action carried over with a reason, an addendum on the item
    and the decision event in the outbox all named the person: after the erasure no column of the
    database holds the name (found by scanning every text, JSON and binary column)."""
    h = harness
    mid, action_id = setup(h)
    chair = h.chair()
    item = next(
        i
        for i in h.client.get(f"{API}/meetings/{mid}/agenda", headers=chair).json()["kept"]
        if i["person_id"] == "per-1"
    )
    items = f"{API}/meetings/{mid}/agenda/items/{item['id']}"
    r = h.client.patch(items, json={"minutes": "Dean Marsh discussed"}, headers=chair)
    assert r.status_code == 200, r.text
    r = h.client.post(
        f"{items}/outcomes",
        json={"kind": "decision", "decision": "defer", "decided_by": "DI Cole", "reason": "Dean Marsh: more"},
        headers=chair,
    )
    assert r.status_code == 201, r.text
    r = h.client.post(
        f"{API}/actions/{action_id}/carry-over",
        json={"reason_code": "not_done_by_agency", "reason": "Dean Marsh was away"},
        headers=chair,
    )
    assert r.status_code == 200, r.text
    assert h.client.post(f"{API}/meetings/{mid}/close", headers=chair).status_code == 200
    r = h.client.post(
        f"{API}/meetings/{mid}/addenda",
        json={"text": "Correction: Dean Marsh's address", "item_id": item["id"]},
        headers=chair,
    )
    assert r.status_code == 201, r.text
    assert set(find_strings(h.runtime.engine, ["Dean Marsh"])["Dean Marsh"]) >= {
        "mtg_agenda_item.minutes",
        "mtg_outcome.reason",
        "mtg_action_carry.reason",
        "mtg_addendum.text",
        "outbox.payload",
    }

    h.emit(
        PersonErased(
            person_id="per-1", references=("R-1",), decision_id="d3", decided_by="user:dpo",
            reason_code="erasure_request", reason="s.47 request upheld",
        ),
        "per-1",
    )  # fmt: skip
    h.consume()
    # Only the audit keeps the reference (who saw them, and the erasure itself), never the name.
    assert find_strings(h.runtime.engine, ["Dean Marsh", "Marsh", "per-1"]) == {
        "per-1": ["audit_log.subject_id", "audit_log.person_ref"]
    }
    assert "Ava Stone" in find_strings(h.runtime.engine, ["Ava Stone"])  # the other person stays
    with Session(h.runtime.engine) as s:
        erased = s.exec(select(AuditEntry).where(AuditEntry.operation == "erase")).all()
    removed = json.loads(erased[0].detail or "{}")["removed"]
    assert removed["addenda"] == 1 and removed["action_carries"] == 1 and removed["outbox_events"] >= 1


def test_an_erased_big_mover_is_not_put_back_on_an_agenda(harness: Any) -> None:
    """A ranking run's big movers arrive on another topic than the erasure: a late or replayed run
    must not bring an erased records id back as a review item."""
    h = harness
    h.emit(
        PersonErased(
            person_id="per-9", references=("R-9",), decision_id="d4", decided_by="user:dpo",
            reason_code="erasure_request", reason="s.47 request upheld",
        ),
        "per-9",
    )  # fmt: skip
    h.consume()
    run = RankingRunCompleted(
        run_id="run-1", kind="production", model="chi", model_version="1", weight_edition="2026",
        as_of=date(2026, 11, 20), people_scored=1000, top_bracket_size=50, provisional=False,
        fingerprint="f", big_movers=("R-9", "R-10"),
    )  # fmt: skip
    h.emit(run, "run-1")
    h.consume()
    kept = h.client.get(f"{API}/meetings/{h.seed['next_meeting_id']}/agenda", headers=h.chair()).json()[
        "kept"
    ]
    assert [i["person_id"] for i in kept if i["kind"] == "review"] == ["R-10"]
