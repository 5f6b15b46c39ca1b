"""Restriction in the meeting-service (DPA 2018 s.47): what "not processed further" means here.

- a restricted person's planned items leave the agendas of meetings not yet held, kept as removed
  with the reason (a held meeting's minutes are the record and stay);
- nothing new is recorded about them: no item by hand, no action, no outcome (409 `restricted`), no
  event-born item (new case or big mover);
- lifting the restriction puts nothing back by itself; afterwards items can be added again.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hhpu_shared.audit import AuditEntry
from hhpu_shared.events.contracts.case import PersonRestricted
from hhpu_shared.events.contracts.ranking import RankingRunCompleted
from sqlmodel import Session, select

API = "/api/v1"


def restrict(h: Any, person_id: str, restricted: bool = True, refs: tuple[str, ...] = ()) -> None:
    h.emit(
        PersonRestricted(
            person_id=person_id,
            references=refs,
            restricted=restricted,
            decision_id=f"d-{person_id}-{restricted}",
            decided_by="user:dpo",
            reason_code="accuracy_contested",
        ),
        person_id,
    )
    h.consume()


def agenda(h: Any, mid: str) -> dict[str, Any]:
    r = h.client.get(f"{API}/meetings/{mid}/agenda", headers=h.chair())
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_restricted_persons_items_leave_the_agenda_and_nothing_new_is_recorded(harness: Any) -> None:
    h = harness
    for n, label in ((1, "Dean Marsh"), (2, "Ava Stone")):
        h.emit(h.opened(n, "high", label), f"asm-{n}")
    h.consume()
    mid = h.seed["next_meeting_id"]
    item = {i["person_id"]: i["id"] for i in agenda(h, mid)["kept"]}
    restrict(h, "per-1", refs=("R-1",))

    now = agenda(h, mid)
    assert [i["person_id"] for i in now["kept"]] == ["per-2"]
    removed = [i for i in now["removed"] if i["person_id"] == "per-1"]
    assert len(removed) == 1 and "restricted" in removed[0]["notes"]
    with Session(h.runtime.engine) as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.operation == "restrict")).all()
    assert {e.person_ref for e in entry} == {"per-1", "R-1"}
    assert all('"agenda_items_removed": 1' in (e.detail or "") for e in entry)

    chair = h.chair()
    by_hand = {"kind": "review", "title": "Review", "person_id": "per-1", "person_label": "Dean Marsh"}
    action = {
        "description": "Check",
        "owner_name": "Housing SPOC",
        "owner_agency_id": "housing",
        "person_id": "R-1",
    }
    info = {"kind": "information", "text": "Police update"}
    for path, body in (
        (f"{API}/meetings/{mid}/agenda/items", by_hand),
        (f"{API}/meetings/{mid}/actions", action),
        (f"{API}/meetings/{mid}/agenda/items/{item['per-1']}/outcomes", info),
    ):
        r = h.client.post(path, json=body, headers=chair)
        assert r.status_code == 409 and r.json()["code"] == "restricted", (path, r.text)
    # Event-born items: a new assessment or a big move in the ranking (by the records id).
    h.emit(h.opened(1, "high", "Dean Marsh"), "asm-1b")
    run = RankingRunCompleted(
        run_id="run-9",
        kind="production",
        model="chi",
        model_version="1",
        weight_edition="e",
        as_of=date.today(),
        people_scored=10,
        top_bracket_size=2,
        provisional=False,
        fingerprint="f",
        big_movers=("R-1", "R-2"),
    )
    h.emit(run, "run-9")
    h.consume()
    shown = agenda(h, mid)
    planned = [i["person_id"] for i in shown["kept"] + [d["item"] for d in shown["to_defer"]]]
    assert "per-1" not in planned and "R-1" not in planned and "R-2" in planned

    restrict(h, "per-1", restricted=False, refs=("R-1",))  # lifted: nothing comes back by itself
    assert "per-1" not in [i["person_id"] for i in agenda(h, mid)["kept"]]
    assert h.client.post(f"{API}/meetings/{mid}/agenda/items", json=by_hand, headers=chair).status_code == 201
