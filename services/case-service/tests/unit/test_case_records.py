"""Risk assessments, append-only notes and interventions on a case, through the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from case_testing import adopt_by_hand, client_for, headers, outbox_types
from fastapi.testclient import TestClient
from hhpu_shared.runtime import ServiceRuntime

OM = headers("offender_manager")


@pytest.fixture
def svc(sqlite_url: str) -> Iterator[tuple[TestClient, ServiceRuntime]]:
    with client_for(sqlite_url) as pair:
        yield pair


def managed_case(client: TestClient, cohort: str = "visor", **extra: object) -> str:
    p = client.post("/api/v1/people", json={"given_name": "Sam", "family_name": "Hill"}, headers=OM).json()
    body = {"person_id": p["id"], "cohort": cohort, "identified_by": "mappa", **extra}
    if cohort == "visor":
        body.update(mappa_category=1, mappa_level=1)
    cid = str(client.post("/api/v1/cases", json=body, headers=OM).json()["id"])
    assert adopt_by_hand(client, cid).status_code == 200
    return cid


def test_case_rm2000_recorded_from_inputs(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, _rt = svc
    cid = managed_case(client)
    body = {
        "age": 22,
        "sexual_appearances": 2,
        "criminal_appearances": 6,
        "violent_appearances": 1,
        "burglary": False,
        "male_victim": True,
        "stranger_victim": True,
        "assessed_on": "2026-11-01",
    }
    r = client.post(f"/api/v1/cases/{cid}/risk/rm2000", json=body, headers=OM)
    assert r.status_code == 201, r.text
    res = r.json()["result"]
    assert (res["s_category"], res["v_category"], res["c_category"]) == ("very_high", "high", "very_high")
    assert r.json()["next_due"] == "2027-01-31"  # very high: 91 days
    case = client.get(f"/api/v1/cases/{cid}", headers=OM).json()
    assert case["risk_band"] == "very_high" and case["next_review_on"] == "2027-01-31"
    bad = client.post(f"/api/v1/cases/{cid}/risk/rm2000", json={**body, "age": 16}, headers=OM)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "age"


def test_case_arms_and_iom_and_history(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, _rt = svc
    cid = managed_case(client)
    risk = dict.fromkeys(
        [
            "opportunity_to_offend",
            "sexual_preoccupation",
            "offence_related_sexual_interest",
            "emotional_congruence_with_children",
            "hostile_orientation",
            "poor_self_management",
            "negative_social_influences",
        ],
        "present",
    )
    prot = dict.fromkeys(
        ["positive_routine", "social_investment", "commitment_to_desist", "positive_social_influences"],
        "absent",
    )
    r = client.post(f"/api/v1/cases/{cid}/risk/arms", json={"risk": risk, "protective": prot}, headers=OM)
    assert r.status_code == 201 and r.json()["result"]["priority"] == "very_high"
    r = client.post(
        f"/api/v1/cases/{cid}/risk/arms",
        json={"risk": {"sexual_preoccupation": "some"}, "protective": prot},
        headers=OM,
    )
    assert r.status_code == 422 and len(r.json()["errors"]) == 6  # six risk factors missing
    r = client.post(f"/api/v1/cases/{cid}/risk/iom", json={"likelihood": "low", "harm": "low"}, headers=OM)
    assert r.json()["result"]["rag"] == "green"
    hist = client.get(f"/api/v1/cases/{cid}/risk", headers=OM).json()["items"]
    assert [h["tool"] for h in hist] == ["arms", "iom"]
    assert client.get(f"/api/v1/cases/{cid}", headers=OM).json()["risk_band"] == "very_high"


def test_case_overdue_list(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, _rt = svc
    old = managed_case(client, cohort="hhpu")
    fresh = managed_case(client, cohort="hhpu")
    long_ago = (date.today() - timedelta(days=400)).isoformat()
    client.post(
        f"/api/v1/cases/{old}/risk/iom",
        json={"likelihood": "high", "harm": "high", "assessed_on": long_ago},
        headers=OM,
    )
    client.post(f"/api/v1/cases/{fresh}/risk/iom", json={"likelihood": "high", "harm": "high"}, headers=OM)
    rows = client.get("/api/v1/risk/overdue", headers=OM).json()["items"]
    assert [r["case_id"] for r in rows] == [old]
    assert rows[0]["days_overdue"] > 200
    later = (
        date.today() + timedelta(days=60)
    ).isoformat()  # unassessed-new cases become overdue after 4 weeks
    later_rows = client.get(f"/api/v1/risk/overdue?as_of={later}", headers=OM).json()["items"]
    ids = {r["case_id"] for r in later_rows}
    assert old in ids and fresh not in ids


def test_case_notes_are_append_only_with_corrections(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, _rt = svc
    cid = managed_case(client)
    n1 = client.post(
        f"/api/v1/cases/{cid}/notes", json={"kind": "fact", "text": "Lives at no. 4"}, headers=OM
    ).json()
    assert n1["author"] == "user:om1" and n1["at"]
    fix = {"kind": "fact", "text": "Lives at no. 14", "corrects_note_id": n1["id"]}
    n2 = client.post(f"/api/v1/cases/{cid}/notes", json=fix, headers=OM).json()
    client.post(f"/api/v1/cases/{cid}/notes", json={"kind": "assessment", "text": "Evasive."}, headers=OM)
    notes = client.get(f"/api/v1/cases/{cid}/notes", headers=OM).json()["items"]
    assert [n["text"] for n in notes] == ["Lives at no. 4", "Lives at no. 14", "Evasive."]
    assert notes[0]["corrected_by"] == [n2["id"]] and notes[2]["kind"] == "assessment"
    # Paged: a note shows its corrections even when they are on a later page.
    first = client.get(f"/api/v1/cases/{cid}/notes?limit=1", headers=OM).json()
    assert (first["total"], first["limit"], first["offset"]) == (3, 1, 0)
    assert [n["id"] for n in first["items"]] == [n1["id"]] and first["items"][0]["corrected_by"] == [n2["id"]]
    last = client.get(f"/api/v1/cases/{cid}/notes?limit=2&offset=2", headers=OM).json()
    assert [n["text"] for n in last["items"]] == ["Evasive."] and last["total"] == 3
    for method in ("PUT", "PATCH", "DELETE"):
        r = client.request(method, f"/api/v1/cases/{cid}/notes/{n1['id']}", json={"text": "x"}, headers=OM)
        assert r.status_code in (404, 405)
    bad = {"kind": "fact", "text": "x", "corrects_note_id": "nope"}
    assert client.post(f"/api/v1/cases/{cid}/notes", json=bad, headers=OM).status_code == 422
    assert (
        client.post(
            f"/api/v1/cases/{cid}/notes", json={"kind": "opinion", "text": "x"}, headers=OM
        ).status_code
        == 422
    )


def test_case_interventions(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, rt = svc
    cid = managed_case(client, cohort="hhpu")
    types = client.get("/api/v1/intervention-types", headers=headers("analyst", why=None)).json()
    assert types["total"] == 46 and len(types["items"]) == 46
    body = {"code": "dvpn", "agency": "police", "started_on": "2026-11-02"}
    r = client.post(f"/api/v1/cases/{cid}/interventions", json=body, headers=OM)
    assert r.status_code == 201 and r.json()["category"] == "disruptive" and r.json()["cohort"] == "hhpu"
    iid = r.json()["id"]
    r = client.patch(
        f"/api/v1/interventions/{iid}",
        json={"ended_on": "2026-11-20", "status": "completed", "outcome": "served"},
        headers=OM,
    )
    assert r.status_code == 200 and r.json()["outcome"] == "served"
    r = client.patch(f"/api/v1/interventions/{iid}", json={"ended_on": "2026-10-01"}, headers=OM)
    assert r.status_code == 422
    listed = client.get(f"/api/v1/cases/{cid}/interventions", headers=OM).json()
    assert listed["total"] == 1 and listed["items"][0]["ended_on"] == "2026-11-20"
    r = client.post(
        f"/api/v1/cases/{cid}/interventions", json={"code": "magic", "agency": "police"}, headers=OM
    )
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_intervention"
    assert outbox_types(rt).count("case.intervention_recorded") == 1
