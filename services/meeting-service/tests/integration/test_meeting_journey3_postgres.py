"""Journey 3 (the monthly multi-agency meeting) end to end on real PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hhpu_shared.events.contracts.ranking import RankingRunCompleted

pytestmark = pytest.mark.postgres
API = "/api/v1"


def test_journey_3_monthly_meeting(pg_harness: Any) -> None:
    h = pg_harness
    chair = h.chair()
    mid, next_id = h.seed["meeting_ids"][:2]

    # last month's meeting and its actions, reviewed at this month's meeting
    last = h.client.post(
        f"{API}/meetings",
        json={
            "meeting_type_id": "monthly_mam",
            "scheduled_on": (date.today() - timedelta(days=28)).isoformat(),
        },
        headers=chair,
    ).json()
    old = []
    for agency, text in [
        ("childrens_services", "Children's services to share the strategy meeting outcome"),
        ("probation", "Probation to arrange a joint home visit"),
    ]:
        r = h.client.post(
            f"{API}/meetings/{last['id']}/actions",
            json={"description": text, "owner_name": f"SPOC {agency}", "owner_agency_id": agency},
            headers=chair,
        )
        assert r.status_code == 201 and r.json()["review_meeting_id"] == mid, r.text
        old.append(r.json())

    # twelve new assessments (Dean among them) and nine reviews
    h.emit(h.opened(0, "high", "Dean Marsh"), "asm-0")
    for n in range(1, 12):
        h.emit(h.opened(n), f"asm-{n}")
    h.emit(
        RankingRunCompleted(
            run_id="run-9",
            kind="production",
            model="chi",
            model_version="1",
            weight_edition="2026",
            as_of=date.today(),
            people_scored=5000,
            top_bracket_size=50,
            provisional=False,
            fingerprint="abc",
            big_movers=tuple(f"mover-{i}" for i in range(9)),
        ),
        "run-9",
    )
    h.consume()
    a = h.client.get(f"{API}/meetings/{mid}/agenda", headers=chair).json()
    assert a["requested_minutes"] == 141 and a["planned_minutes"] == 116 and len(a["to_defer"]) == 5
    fin = h.client.post(f"{API}/meetings/{mid}/agenda/finalise", headers=chair).json()
    assert len(fin["kept"]) == 16 and len(fin["moved"]) == 5 and fin["moved_to_meeting_id"] == next_id
    assert all(m["deferred_reason"] for m in fin["moved"])

    # attendance and apologies
    for agency in [
        "probation",
        "childrens_services",
        "housing",
        "drug_alcohol_service",
        "police_public_protection",
        "police_neighbourhood",
    ]:
        r = h.client.patch(
            f"{API}/meetings/{mid}/invitations/{agency}", json={"attended": True}, headers=chair
        )
        assert r.status_code == 200
    r = h.client.patch(
        f"{API}/meetings/{mid}/invitations/adult_social_care",
        json={"response": "apologies", "apology_reason": "no one available"},
        headers=h.partner("adult_social_care"),
    )
    assert r.status_code == 200 and r.json()["response"] == "apologies"
    assert h.client.post(f"{API}/meetings/{mid}/start", headers=chair).status_code == 200

    # the decision for Dean, and the actions
    dean = next(i for i in fin["kept"] if i["assessment_id"] == "asm-0")
    outcomes = f"{API}/meetings/{mid}/agenda/items/{dean['id']}/outcomes"
    r = h.client.post(
        outcomes,
        json={"kind": "decision", "decision": "adopt", "cohort": "hhpu", "decided_by": "DI Sarah Cole"},
        headers=chair,
    )
    assert r.status_code == 201, r.text
    t = date.today()
    day14 = t.replace(day=14) if t.day < 14 else (t.replace(day=1) + timedelta(days=32)).replace(day=14)
    housing_action = {
        "kind": "action",
        "description": "Housing to confirm Dean's address by the 14th",
        "owner_name": "Priya Shah",
        "owner_agency_id": "housing",
        "due_date": day14.isoformat(),
    }
    police_action = {
        "kind": "action",
        "description": "Police to apply for a domestic violence protection notice",
        "owner_name": "PC Lee Grant",
        "owner_agency_id": "police_public_protection",
        "owner_subject": "user:om-lee",
    }
    for body in (housing_action, police_action):
        assert h.client.post(outcomes, json=body, headers=chair).status_code == 201
    h.client.post(f"{API}/actions/{old[0]['id']}/status", json={"status": "not_done"}, headers=chair)
    h.client.post(f"{API}/actions/{old[1]['id']}/status", json={"status": "not_possible"}, headers=chair)
    minute = h.client.patch(
        f"{API}/meetings/{mid}/agenda/items/{dean['id']}",
        json={"minutes": "Adopted; DVPN to be sought."},
        headers=chair,
    )
    assert minute.status_code == 200

    # close: minutes frozen, unfinished actions carried over with their reason
    closed = h.client.post(f"{API}/meetings/{mid}/close", headers=chair)
    assert closed.status_code == 200, closed.text
    assert closed.json()["actions_carried"] == 1
    assert closed.json()["items_moved"] == 11  # the undecided new cases go to the next meeting
    carried = h.client.get(f"{API}/actions/{old[0]['id']}", headers=chair).json()
    assert carried["status"] == "open" and carried["review_meeting_id"] == next_id
    assert carried["carries"][0]["reason"] == "Not done by the agency"
    assert h.client.get(f"{API}/actions/{old[1]['id']}", headers=chair).json()["status"] == "not_possible"
    frozen = h.client.patch(
        f"{API}/meetings/{mid}/agenda/items/{dean['id']}", json={"minutes": "x"}, headers=chair
    )
    assert frozen.status_code == 409

    # exactly one decision event; the pack is printable
    assert len(h.events("meeting.decision_recorded")) == 1
    pack = h.client.get(f"{API}/meetings/{mid}/pack", headers=chair).text
    for text in [
        "Dean Marsh",
        "DI Sarah Cole",
        "Housing to confirm Dean",
        "domestic violence protection notice",
        "no one available",
        "6 of 3 agencies (met)",
        "minutes frozen",
    ]:
        assert text in pack

    # housing sees its own action and no one else's
    mine = h.client.get(f"{API}/actions", headers=h.partner("housing")).json()["items"]
    assert [a["description"] for a in mine] == ["Housing to confirm Dean's address by the 14th"]
    assert mine[0]["due_date"] == day14.isoformat()


def test_the_elected_overdue_sweep_worker_flags_an_overdue_action_once(pg_harness: Any) -> None:
    from hhpu_shared.background import lock_key
    from meeting_service.models import Action
    from meeting_service.seed import seed_demo
    from meeting_service.workers import OVERDUE_SWEEP
    from sqlalchemy import text
    from sqlmodel import Session

    h = pg_harness
    again = seed_demo(h.runtime)  # idempotent: same series, same meetings
    assert again["meeting_ids"] == h.seed["meeting_ids"]
    r = h.client.post(
        f"{API}/meetings/{h.seed['next_meeting_id']}/actions",
        json={
            "description": "Housing to confirm the address",
            "owner_name": "Priya Shah",
            "owner_agency_id": "housing",
            "due_date": (date.today() - timedelta(days=2)).isoformat(),
        },
        headers=h.chair(),
    )
    assert r.status_code == 201, r.text
    action_id = r.json()["id"]

    # another replica holds the worker's lock: this one does not run it
    with h.runtime.engine.connect() as other, other.begin():
        assert other.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": lock_key(OVERDUE_SWEEP.name)}
        ).scalar()
        assert OVERDUE_SWEEP.run_once(h.runtime) is False
    assert h.events("action.overdue_detected") == []

    assert OVERDUE_SWEEP.run_once(h.runtime) is True
    assert OVERDUE_SWEEP.run_once(h.runtime) is True  # runs again, flags nothing new
    with Session(h.runtime.engine) as s:
        action = s.get(Action, action_id)
        assert action is not None and action.overdue_detected_at is not None
    events = h.events("action.overdue_detected")
    assert [e.data["action_id"] for e in events] == [action_id]
    agenda = h.client.get(f"{API}/meetings/{r.json()['review_meeting_id']}/agenda", headers=h.chair()).json()
    assert [i["action_id"] for i in agenda["kept"] if i["kind"] == "overdue_action"] == [action_id]
