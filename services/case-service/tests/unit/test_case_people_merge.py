"""People: identifiers, changes with history, merges that keep history and emit person.merged."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from case_service.models import Assessment, AssessmentTrigger, Person
from case_testing import candidate, client_for, consume, envelope, headers, publish, screened
from fastapi.testclient import TestClient
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.runtime import ServiceRuntime
from sqlmodel import Session, select

OM = headers("offender_manager")
SUP = headers("unit_supervisor", subject="user:sup")


@pytest.fixture
def svc(sqlite_url: str) -> Iterator[tuple[TestClient, ServiceRuntime]]:
    with client_for(sqlite_url) as pair:
        yield pair


def test_case_person_identifiers_and_history(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, _rt = svc
    body = {"given_name": "Ann", "family_name": "Lowe", "pnc_number": "12/345X", "records_id": "R-1"}
    p = client.post("/api/v1/people", json=body, headers=OM).json()
    assert {(i["kind"], i["value"]) for i in p["identifiers"]} == {("pnc", "12/345X"), ("records_id", "R-1")}
    again = client.post("/api/v1/people", json={**body, "records_id": None}, headers=OM).json()
    assert again["id"] == p["id"]  # matched by PNC, not duplicated
    r = client.patch(f"/api/v1/people/{p['id']}", json={"family_name": "Lowe-Smith"}, headers=OM)
    hist = r.json()["history"]
    assert hist[-1]["action"] == "changed"
    assert hist[-1]["detail"]["fields"]["family_name"] == {"from": "Lowe", "to": "Lowe-Smith"}


def test_case_merge_keeps_history_and_emits_event(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, rt = svc
    d1 = PersonDetails(given_name="Dean", family_name="Marsh", pnc_number="91/1A")
    d2 = PersonDetails(given_name="Deane", family_name="Marsh", records_id="R-2")
    publish(
        rt, envelope(screened("ref-m1", grade="none", subject=d1)), envelope(candidate("R-2", subject=d2))
    )
    consume(rt)
    with Session(rt.engine) as s:
        people = {p.given_name: p.id for p in s.exec(select(Person)).all()}
    assert len(people) == 2
    keep, gone = people["Dean"], people["Deane"]
    r = client.post(f"/api/v1/people/{keep}/merge", json={"merged_person_id": gone}, headers=SUP)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["records_id"] == "R-2"
    assert {i["kind"] for i in out["identifiers"]} >= {"pnc", "records_id", "referral"}
    assert out["history"][-1]["action"] == "merged_in"
    old = client.get(f"/api/v1/people/{gone}", headers=OM).json()
    assert old["merged_into"] == keep and old["history"][-1]["action"] == "merged_into"
    with Session(rt.engine) as s:
        assessments = s.exec(select(Assessment)).all()
        open_ = [a for a in assessments if a.status == "open"]
        assert len(open_) == 1 and open_[0].person_id == keep
        assert {
            t.source for t in s.exec(select(AssessmentTrigger)).all() if t.assessment_id == open_[0].id
        } == {
            "referral",
            "ranking",
        }
        assert {a.status for a in assessments} == {"open", "merged"}
        ev = s.exec(select(OutboxRecord).where(OutboxRecord.type == "person.merged")).one()
        data = json.loads(ev.payload)["data"]
    assert data == {"surviving_person_id": keep, "merged_person_id": gone, "merged_by": "user:sup"}
    # the merged person's later events go to the survivor
    publish(rt, envelope(candidate("R-2", run_id="run-2")))
    consume(rt)
    with Session(rt.engine) as s:
        assert len([a for a in s.exec(select(Assessment)).all() if a.status == "open"]) == 1
    assert (
        client.post(f"/api/v1/people/{keep}/merge", json={"merged_person_id": gone}, headers=SUP).status_code
        == 409
    )
    assert (
        client.post(f"/api/v1/people/{keep}/merge", json={"merged_person_id": keep}, headers=SUP).status_code
        == 409
    )
    assert client.patch(f"/api/v1/people/{gone}", json={"area": "x"}, headers=OM).status_code == 409


def test_case_only_supervisors_merge(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, _rt = svc
    a = client.post("/api/v1/people", json={"given_name": "A", "family_name": "B"}, headers=OM).json()
    b = client.post("/api/v1/people", json={"given_name": "A", "family_name": "C"}, headers=OM).json()
    assert (
        client.post(
            f"/api/v1/people/{a['id']}/merge", json={"merged_person_id": b["id"]}, headers=OM
        ).status_code
        == 403
    )
