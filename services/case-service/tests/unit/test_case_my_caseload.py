"""'My caseload' for the signed-in manager, and the integrity fixes of issue 16 in the case-service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from case_service.models import Assessment, AssessmentDecision, Case
from case_testing import adopt_by_hand, client_for, consume, envelope, headers, publish, screened
from fastapi.testclient import TestClient
from hhpu_shared.audit import AuditEntry
from hhpu_shared.runtime import ServiceRuntime
from sqlmodel import Session, select

SUP = headers("unit_supervisor", subject="user:sup")
ANN = headers("offender_manager", subject="om-ann", why="my week")


@pytest.fixture
def svc(sqlite_url: str) -> Iterator[tuple[TestClient, ServiceRuntime]]:
    with client_for(sqlite_url) as pair:
        yield pair


def _manager(client: TestClient, staff_id: str, name: str, capacity: float = 30.0) -> str:
    body = {"staff_id": staff_id, "name": name, "capacity_points": capacity}
    r = client.post("/api/v1/managers", json=body, headers=SUP)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _case(client: TestClient, given: str, family: str, cohort: str = "hhpu", **extra: object) -> str:
    p = client.post("/api/v1/people", json={"given_name": given, "family_name": family}, headers=SUP).json()
    body = {"person_id": p["id"], "cohort": cohort, "identified_by": "mappa", **extra}
    r = client.post("/api/v1/cases", json=body, headers=SUP)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _give(client: TestClient, case_id: str, manager_id: str) -> None:
    body = {"manager_id": manager_id, "accept_over_capacity": True}
    r = client.post(f"/api/v1/cases/{case_id}/allocation", json=body, headers=SUP)
    assert r.status_code == 200, r.text


def test_case_my_caseload_names_risk_due_dates_and_load(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, rt = svc
    ann = _manager(client, "om-ann", "PC Ann Lee", capacity=10.0)
    _manager(client, "om-raj", "PC Raj Patel", capacity=10.0)
    dean = _case(client, "Dean", "Marsh")
    vic = _case(client, "Vic", "Sor", cohort="iom_fixed")
    for cid in (dean, vic):
        assert adopt_by_hand(client, cid).status_code == 200
        _give(client, cid, ann)
    r = client.post(
        f"/api/v1/cases/{dean}/risk/iom", json={"likelihood": "high", "harm": "high"}, headers=ANN
    )
    assert r.status_code == 201, r.text
    past = (date.today() - timedelta(days=3)).isoformat()
    assert (
        client.patch(f"/api/v1/cases/{dean}", json={"next_review_on": past}, headers=SUP).status_code == 200
    )
    iv = {"code": "home_address_check", "agency": "police"}
    assert client.post(f"/api/v1/cases/{dean}/interventions", json=iv, headers=ANN).status_code == 201

    r = client.get("/api/v1/managers/me/caseload", headers=ANN)
    assert r.status_code == 200, r.text
    mine = r.json()
    assert mine["manager"]["name"] == "PC Ann Lee"
    rows = {x["name"]: x for x in mine["cases"]["items"]}
    assert set(rows) == {"Dean Marsh", "Vic Sor"} and mine["cases"]["total"] == 2
    d = rows["Dean Marsh"]
    assert d["cohort"] == "hhpu" and d["next_review_on"] == past
    assert d["risk_tools"]["iom"]["band"] and d["risk_assessment_due_on"]
    assert d["active_interventions"] == 1
    assert {"kind": "review", "due_on": past, "overdue": True} in d["open_work"]
    assert mine["summary"]["reviews_overdue"] == 1 and mine["summary"]["by_cohort"] == {
        "hhpu": 1,
        "iom_fixed": 1,
    }
    load = mine["load"]
    assert load["capacity_points"] == 10.0 and load["points"] > 0
    assert load["utilisation"] == round(load["points"] / 10.0, 4)
    assert load["ratio_to_team_median"] is not None  # Raj has none: Ann is above the median
    assert mine["open_actions"]["url"].startswith("/api/v1/actions?mine=true")
    # paged, and each listed case is an audited consultation under her name
    page = client.get("/api/v1/managers/me/caseload?limit=1", headers=ANN).json()
    assert len(page["cases"]["items"]) == 1 and page["cases"]["total"] == 2
    with Session(rt.engine) as s:
        seen = s.exec(select(AuditEntry).where(AuditEntry.actor == "om-ann")).all()
    assert {e.subject_id for e in seen if e.operation == "consult"} >= {dean, vic}
    # someone with no manager record gets a coded 404; partners never see it
    other = headers("offender_manager", subject="om-nobody")
    r = client.get("/api/v1/managers/me/caseload", headers=other)
    assert r.status_code == 404 and r.json()["code"] == "not_a_manager"


def test_case_a_managers_cases_have_names_risk_due_work_and_pages(
    svc: tuple[TestClient, ServiceRuntime],
) -> None:
    """`/managers/{id}/cases`: the same rows as her own caseload (names, cohort, risk, due work),
    one page at a time, the totals over every case; an unknown manager is a 404."""
    client, rt = svc
    ann = _manager(client, "om-ann", "PC Ann Lee", capacity=10.0)
    cases = [_case(client, "Dean", "Marsh"), _case(client, "Vic", "Sor", cohort="iom_fixed")]
    for cid in cases:
        assert adopt_by_hand(client, cid).status_code == 200
        _give(client, cid, ann)
    past = (date.today() - timedelta(days=2)).isoformat()
    assert (
        client.patch(f"/api/v1/cases/{cases[0]}", json={"next_review_on": past}, headers=SUP).status_code
        == 200
    )
    r = client.get(f"/api/v1/managers/{ann}/cases", params={"limit": 1}, headers=SUP)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["manager"]["name"] == "PC Ann Lee" and out["open_actions"] is None
    assert out["summary"]["cases"] == 2 and out["summary"]["reviews_overdue"] == 1
    assert out["cases"]["total"] == 2 and out["cases"]["limit"] == 1 and len(out["cases"]["items"]) == 1
    rest = client.get(f"/api/v1/managers/{ann}/cases", params={"offset": 1}, headers=SUP).json()
    rows = {x["name"]: x for x in [*out["cases"]["items"], *rest["cases"]["items"]]}
    assert set(rows) == {"Dean Marsh", "Vic Sor"}
    assert rows["Dean Marsh"]["cohort"] == "hhpu" and rows["Vic Sor"]["cohort"] == "iom_fixed"
    assert {"kind": "review", "due_on": past, "overdue": True} in rows["Dean Marsh"]["open_work"]
    assert "risk_band" in rows["Dean Marsh"] and rows["Dean Marsh"]["points"] > 0
    with Session(rt.engine) as s:
        seen = s.exec(select(AuditEntry).where(AuditEntry.actor == "user:sup")).all()
    assert {e.subject_id for e in seen if e.operation == "consult"} >= set(cases)
    assert client.get("/api/v1/managers/nobody/cases", headers=SUP).status_code == 404


def test_case_named_allocation_over_capacity_needs_confirmation(
    svc: tuple[TestClient, ServiceRuntime],
) -> None:
    client, _rt = svc
    a, b = _case(client, "A", "One"), _case(client, "B", "Two")
    for cid in (a, b):  # adopted before anyone is in the team: nobody allocated yet
        assert adopt_by_hand(client, cid).status_code == 200
    small = _manager(client, "om-small", "PC Small", capacity=4.0)
    assert (
        client.post(f"/api/v1/cases/{a}/allocation", json={"manager_id": small}, headers=SUP).status_code
        == 200
    )
    r = client.post(f"/api/v1/cases/{b}/allocation", json={"manager_id": small}, headers=SUP)
    assert r.status_code == 409 and r.json()["code"] == "over_capacity"
    assert r.json()["utilisation_after"] > 1.0
    r = client.post(
        f"/api/v1/cases/{b}/allocation", json={"manager_id": small, "accept_over_capacity": True}, headers=SUP
    )
    assert r.status_code == 200 and r.json()["manager_id"] == small


def test_case_managed_only_through_a_recorded_decision(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, rt = svc
    cid = _case(client, "No", "Decision")
    url = f"/api/v1/cases/{cid}/transitions"
    assert client.post(url, json={"to": "under_assessment"}, headers=SUP).status_code == 200
    r = client.post(url, json={"to": "managed"}, headers=SUP)
    assert r.status_code == 422 and r.json()["errors"][0] == {
        "field": "decided_by",
        "code": "required",
        "message": r.json()["errors"][0]["message"],
    }
    om = headers("offender_manager")
    assert client.post(url, json={"to": "managed", "decided_by": "me"}, headers=om).status_code == 403
    assert client.get(f"/api/v1/cases/{cid}", headers=SUP).json()["status"] == "under_assessment"
    r = client.post(url, json={"to": "managed", "decided_by": "MAPPA panel 12 Nov"}, headers=SUP)
    assert r.status_code == 200 and r.json()["status"] == "managed"
    assert r.json()["identified_by"] == "mappa"  # the hand adoption keeps how the case came
    with Session(rt.engine) as s:
        dec = s.exec(select(AssessmentDecision)).one()
        a = s.get(Assessment, dec.assessment_id)
    assert dec.decision == "adopt" and dec.decided_by == "MAPPA panel 12 Nov"
    assert a is not None and a.status == "decided" and a.case_id == cid


def test_case_unconvicted_suspect_is_not_labelled_convicted(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, rt = svc
    publish(
        rt,
        envelope(screened("ref-s", statutory_status="unconvicted_suspect")),
        envelope(
            screened(
                "ref-c",
                statutory_status="on_licence",
                subject=screened().subject.model_copy(update={"given_name": "Carl", "family_name": "Lic"}),
            )
        ),
    )
    consume(rt)
    with Session(rt.engine) as s:
        by_status = {c.statutory_status: c.subject_category for c in s.exec(select(Case)).all()}
    assert by_status == {"unconvicted_suspect": "suspect", "on_licence": "convicted"}
