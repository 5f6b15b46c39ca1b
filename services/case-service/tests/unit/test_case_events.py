"""Consumed events (in-process bus): one open assessment per person, decisions from meetings."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from case_service.models import Assessment, AssessmentTrigger, Case, Person
from case_testing import (
    DEAN,
    candidate,
    client_for,
    consume,
    decision,
    envelope,
    headers,
    outbox_types,
    publish,
    resolved,
    screened,
)
from fastapi.testclient import TestClient
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.runtime import ServiceRuntime
from sqlmodel import Session, select

OM = headers("offender_manager")


@pytest.fixture
def svc(sqlite_url: str) -> Iterator[tuple[TestClient, ServiceRuntime]]:
    with client_for(sqlite_url) as pair:
        yield pair


def rows(rt: ServiceRuntime, model: type) -> list:  # type: ignore[type-arg]
    with Session(rt.engine) as s:
        return list(s.exec(select(model)).all())


def outbox(rt: ServiceRuntime, type_: str) -> list[dict[str, object]]:
    with Session(rt.engine) as s:
        recs = s.exec(select(OutboxRecord).where(OutboxRecord.type == type_)).all()
        return [json.loads(r.payload)["data"] for r in recs]


def test_case_referral_and_ranking_for_one_person_open_one_assessment(
    svc: tuple[TestClient, ServiceRuntime],
) -> None:
    _client, rt = svc
    ref = envelope(screened("ref-1", grade="certain", person_ref="R-100"))
    rank = envelope(candidate("R-100", subject=DEAN))
    publish(rt, ref, rank, ref, rank)  # each delivered twice
    consume(rt)
    assessments = rows(rt, Assessment)
    assert len(assessments) == 1
    trig = rows(rt, AssessmentTrigger)
    assert sorted(t.source for t in trig) == ["ranking", "referral"]
    assert outbox_types(rt).count("assessment.opened") == 1
    assert outbox_types(rt).count("assessment.trigger_added") == 1
    opened = outbox(rt, "assessment.opened")[0]
    assert opened["person_label"] == "Dean Marsh" and opened["records_id"] == "R-100"
    assert assessments[0].urgency == "high"  # the referral's urgency, whichever event came first
    details = [str(t.detail) for t in trig]
    assert any("ranked 3 (score 812.5)" in d and "008/66 Stalking (serious alarm)" in d for d in details)
    assert any("referral from Drug and Alcohol Service" in d for d in details)  # the name, not the id
    added = outbox(rt, "assessment.trigger_added")[0]
    assert added["summary"] == "2 triggers: 1 referral, 1 ranking candidate"
    assert len(rows(rt, Person)) == 1
    cases = rows(rt, Case)
    assert len(cases) == 1 and cases[0].status == "candidate"
    assert cases[0].identified_by in ("partner_referral", "algorithm")  # from the first trigger


def test_case_same_referral_republished_with_a_new_event_id_adds_nothing(
    svc: tuple[TestClient, ServiceRuntime],
) -> None:
    _c, rt = svc
    publish(rt, envelope(screened("ref-9", grade="none")), envelope(screened("ref-9", grade="none")))
    consume(rt)
    assert len(rows(rt, Assessment)) == 1 and len(rows(rt, AssessmentTrigger)) == 1
    assert outbox_types(rt) == ["assessment.opened"]


def test_case_ineligible_ignored_and_probable_waits_for_resolution(
    svc: tuple[TestClient, ServiceRuntime],
) -> None:
    _c, rt = svc
    publish(rt, envelope(screened("ref-2", eligible=False)), envelope(screened("ref-3", grade="probable")))
    consume(rt)
    assert rows(rt, Assessment) == [] and rows(rt, Person) == []
    publish(rt, envelope(candidate("R-7")))
    publish(rt, envelope(resolved("ref-3", "R-7")))
    consume(rt)
    assert len(rows(rt, Assessment)) == 1
    people = rows(rt, Person)
    assert len(people) == 1 and people[0].records_id == "R-7"
    assert {t.source for t in rows(rt, AssessmentTrigger)} == {"ranking", "referral"}


def test_case_meeting_adopts_and_allocates(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, rt = svc
    sup = headers("unit_supervisor", subject="user:sup")
    m = client.post("/api/v1/managers", json={"staff_id": "om-1", "name": "PC One"}, headers=sup).json()
    publish(rt, envelope(screened("ref-4", grade="none")))
    consume(rt)
    a = rows(rt, Assessment)[0]
    publish(rt, envelope(decision(a.id, a.person_id, "adopt", None)))
    consume(rt)
    c = rows(rt, Case)[0]
    assert c.status == "managed" and c.cohort == "hhpu" and c.manager_id == m["id"]
    types = outbox_types(rt)
    assert types.count("assessment.decided") == 1 and types.count("case.adopted") == 1
    assert types.count("case.manager_allocated") == 1
    decided = outbox(rt, "assessment.decided")[0]
    assert decided["referral_ids"] == ["ref-4"] and decided["decided_by"] == "DI Jane Hart"
    allocated = outbox(rt, "case.manager_allocated")[0]
    assert any("load after allocation" in r for r in allocated["reasons"])  # type: ignore[attr-defined]
    got = client.get(f"/api/v1/assessments/{a.id}", headers=OM).json()
    assert got["status"] == "decided" and got["decisions"][0]["source"] == "meeting:mtg-1"
    # a later trigger for the same person opens a new assessment (the old one is closed)
    publish(
        rt, envelope(screened("ref-5", grade="none", subject=DEAN.model_copy(update={"pnc_number": "99/1A"})))
    )
    consume(rt)
    assert len(rows(rt, Assessment)) == 2


def test_case_meeting_adoption_without_cohort_uses_the_runtimes_default(sqlite_url: str) -> None:
    with client_for(sqlite_url, default_cohort="iom_free") as (_client, rt):
        publish(rt, envelope(screened("ref-6", grade="none")))
        consume(rt)
        a = rows(rt, Assessment)[0]
        publish(rt, envelope(decision(a.id, a.person_id, "adopt", None)))
        consume(rt)
        c = rows(rt, Case)[0]
        assert c.status == "managed" and c.cohort == "iom_free"


def test_case_meeting_decline_and_defer(svc: tuple[TestClient, ServiceRuntime]) -> None:
    _c, rt = svc
    publish(rt, envelope(screened("ref-6", grade="certain", person_ref="R-6")))
    consume(rt)
    a = rows(rt, Assessment)[0]
    publish(rt, envelope(decision(a.id, a.person_id, "defer", None)))
    consume(rt)
    a = rows(rt, Assessment)[0]
    assert a.status == "open" and a.decision == "defer"
    publish(rt, envelope(candidate("R-6")))  # a deferred assessment still gathers triggers
    consume(rt)
    assert len(rows(rt, Assessment)) == 1 and len(rows(rt, AssessmentTrigger)) == 2
    publish(rt, envelope(decision(a.id, a.person_id, "decline", None)))
    consume(rt)
    a = rows(rt, Assessment)[0]
    assert a.status == "decided" and a.decision == "decline"
    c = rows(rt, Case)[0]
    assert c.status == "exited" and c.exit_reason == "not_adopted"
    assert outbox_types(rt).count("assessment.decided") == 2


def test_case_records_only_candidate_gets_details_later(svc: tuple[TestClient, ServiceRuntime]) -> None:
    _c, rt = svc
    publish(rt, envelope(candidate("R-42")))
    consume(rt)
    assert rows(rt, Person)[0].given_name == "Unknown"
    publish(rt, envelope(screened("ref-42", grade="certain", person_ref="R-42")))
    consume(rt)
    people = rows(rt, Person)
    assert len(people) == 1 and people[0].label == "Dean Marsh"
    assert len(rows(rt, Assessment)) == 1
