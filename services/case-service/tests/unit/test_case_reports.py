"""Suitability report (JSON, printable HTML), evaluation figures with chi-square, caseload and decisions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from case_service.models import Assessment, Case
from case_testing import (
    DEAN,
    adopt_by_hand,
    candidate,
    client_for,
    consume,
    envelope,
    headers,
    publish,
    screened,
)
from fastapi.testclient import TestClient
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.runtime import ServiceRuntime
from scipy.stats import chi2_contingency
from sqlmodel import Session, select

OM = headers("offender_manager")
SUP = headers("unit_supervisor", subject="user:sup")


@pytest.fixture
def svc(sqlite_url: str) -> Iterator[tuple[TestClient, ServiceRuntime]]:
    with client_for(sqlite_url, mosovo_cost_gbp=500.0) as pair:
        yield pair


def test_case_suitability_report_json_and_html(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, rt = svc
    other = PersonDetails(given_name="Oli", family_name="Twist", records_id="R-9")
    publish(
        rt,
        envelope(screened("ref-1", grade="certain", person_ref="R-1")),
        envelope(candidate("R-1", subject=DEAN)),
        envelope(candidate("R-9", subject=other)),
        envelope(
            screened("ref-2", grade="none", subject=PersonDetails(given_name="Ria", family_name="<b>X</b>"))
        ),
    )
    consume(rt)
    rep = client.get("/api/v1/reports/suitability", headers=OM).json()
    assert rep["counts"] == {"algorithm": 1, "referral": 1, "both": 1, "manual": 0}
    assert rep["groups"]["both"]["items"][0]["person_label"] == "Dean Marsh"
    assert len(rep["groups"]["both"]["items"][0]["triggers"]) == 2
    # each source is one page: the same limit and offset, each with its own total
    paged = client.get("/api/v1/reports/suitability", params={"limit": 1, "offset": 1}, headers=OM).json()
    assert {
        k: (g["total"], len(g["items"]), g["limit"], g["offset"]) for k, g in paged["groups"].items()
    } == {
        "algorithm": (1, 0, 1, 1),
        "referral": (1, 0, 1, 1),
        "both": (1, 0, 1, 1),
        "manual": (0, 0, 1, 1),
    }
    assert paged["total"] == 3
    assert client.get("/api/v1/reports/suitability?since=2999-01-01", headers=OM).json()["total"] == 0
    r = client.get("/api/v1/reports/suitability?format=html", headers=OM)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "OFFICIAL-SENSITIVE" in r.text and "Oli Twist" in r.text
    assert "&lt;b&gt;X&lt;/b&gt;" in r.text and "<b>X</b>" not in r.text  # escaped
    assert (
        client.get("/api/v1/reports/suitability", headers=headers("offender_manager", why=None)).status_code
        == 422
    )


def _adopt(client: TestClient, cohort: str, **mappa: int) -> str:
    p = client.post("/api/v1/people", json={"given_name": "P", "family_name": cohort}, headers=OM).json()
    body = {"person_id": p["id"], "cohort": cohort, "identified_by": "internal_referral", **mappa}
    cid = str(client.post("/api/v1/cases", json=body, headers=OM).json()["id"])
    assert adopt_by_hand(client, cid).status_code == 200
    return cid


def test_case_evaluation_figures(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, _rt = svc
    plan = {
        ("iom_fixed", "home_address_check"): 6,
        ("iom_fixed", "drug_alcohol_treatment"): 4,
        ("iom_flex", "travel_warrant"): 1,
        ("visor", "notification_compliance_visit"): 5,
        ("visor", "sex_offender_programme"): 3,
        ("hhpu", "dvpn"): 7,
        ("hhpu", "accommodation_support"): 2,
        ("hhpu", "da_perpetrator_programme"): 2,
    }
    cases: dict[str, str] = {}
    for (cohort, code), n in plan.items():
        if cohort not in cases:
            extra = {"mappa_category": 1, "mappa_level": 1} if cohort == "visor" else {}
            cases[cohort] = _adopt(client, cohort, **extra)
        for _ in range(n):
            body = {"code": code, "agency": "police"}
            assert (
                client.post(f"/api/v1/cases/{cases[cohort]}/interventions", json=body, headers=OM).status_code
                == 201
            )
    m = client.post("/api/v1/managers", json={"staff_id": "a", "name": "A"}, headers=SUP).json()
    client.post("/api/v1/managers", json={"staff_id": "b", "name": "B"}, headers=SUP)
    client.post(
        f"/api/v1/managers/{m['id']}/training",
        json={"course": "mosovo", "completed_on": "2025-01-01"},
        headers=SUP,
    )
    ev = client.get("/api/v1/reports/evaluation", headers=headers("analyst", why=None)).json()
    iv = ev["interventions"]
    assert iv["groups"] == ["IOM", "ViSOR", "HHPU"]
    assert iv["counts"] == [[6, 4, 1], [5, 0, 3], [7, 2, 2]]
    ref = chi2_contingency(iv["counts"], correction=False)
    assert iv["chi_square"]["statistic"] == pytest.approx(float(ref.statistic), abs=1e-6)
    assert iv["chi_square"]["p_value"] == pytest.approx(float(ref.pvalue), rel=1e-9)
    assert iv["chi_square"]["dof"] == ref.dof
    month = ev["managed_by_month"][-1]
    assert month["by_cohort"] == {"hhpu": 1, "iom_fixed": 1, "iom_flex": 1, "visor": 1}
    assert ev["training"] == {"managers": 2, "mosovo_trained": 1, "coverage": 0.5}
    cap = ev["capacity"]
    assert cap["managers"] == 2 and cap["capacity_points"] > 0
    assert cap["utilisation"] == round(cap["load_points"] / cap["capacity_points"], 4)
    assert ev["costs"]["mosovo_cost_per_person"] == 500.0  # configured
    assert ev["costs"]["mosovo_training_to_complete_team"] == 500.0
    assert ev["costs"]["supervising_di_per_year"] == 73433.0


def test_case_decision_api_and_allocation(svc: tuple[TestClient, ServiceRuntime]) -> None:
    client, rt = svc
    untrained = client.post("/api/v1/managers", json={"staff_id": "u", "name": "U"}, headers=SUP).json()
    trained = client.post(
        "/api/v1/managers", json={"staff_id": "t", "name": "T", "capacity_points": 40}, headers=SUP
    ).json()
    client.post(
        f"/api/v1/managers/{trained['id']}/training",
        json={"course": "mosovo", "completed_on": "2025-01-01"},
        headers=SUP,
    )
    publish(rt, envelope(screened("ref-d", grade="none")))
    consume(rt)
    with Session(rt.engine) as s:
        aid = s.exec(select(Assessment)).one().id
    url = f"/api/v1/assessments/{aid}/decision"
    r = client.post(url, json={"decision": "decline", "decided_by": "DI Hart"}, headers=SUP)
    assert r.status_code == 422  # a decline needs a reason
    r = client.post(url, json={"decision": "adopt", "decided_by": ""}, headers=SUP)
    assert r.status_code == 422  # a decision names who made it
    r = client.post(url, json={"decision": "adopt", "decided_by": "DI Hart", "cohort": "visor"}, headers=SUP)
    assert r.status_code == 200 and r.json()["decided_by"] == "DI Hart"
    assert (
        client.post(url, json={"decision": "adopt", "decided_by": "DI Hart"}, headers=SUP).status_code == 409
    )
    with Session(rt.engine) as s:
        c = s.exec(select(Case)).one()
    assert c.status == "managed" and c.cohort == "visor" and c.manager_id == trained["id"]
    # naming an untrained manager for a ViSOR case is refused
    r = client.post(f"/api/v1/cases/{c.id}/allocation", json={"manager_id": untrained["id"]}, headers=SUP)
    assert r.status_code == 409 and r.json()["code"] == "untrained"
    sug = client.get(f"/api/v1/cases/{c.id}/allocation-suggestion", headers=OM).json()
    assert sug["manager_id"] == trained["id"]
    assert any(x["manager_id"] == untrained["id"] and not x["eligible"] for x in sug["considered"])
    load = client.get("/api/v1/managers/caseload", headers=OM).json()
    assert load["managers"] == 2 and load["mosovo_trained"] == 1
    mine = {row["manager_id"]: row for row in load["per_manager"]["items"]}
    assert mine[trained["id"]]["cases"] == 1 and mine[untrained["id"]]["cases"] == 0
    assert mine[trained["id"]]["points"] == pytest.approx(3.75)
    one = client.get("/api/v1/managers/caseload", params={"limit": 1, "offset": 1}, headers=OM).json()
    assert one["per_manager"]["total"] == 2 and len(one["per_manager"]["items"]) == 1
    assert one["managers"] == 2  # the equity figures are over the whole team, whatever the page


def test_case_demo_seed_and_openapi(svc: tuple[TestClient, ServiceRuntime]) -> None:
    from case_service.seed import DEMO_TEAM, seed_demo_managers

    client, rt = svc
    ids = seed_demo_managers(rt)
    assert seed_demo_managers(rt) == ids and len(ids) == len(DEMO_TEAM)  # idempotent
    team = client.get("/api/v1/managers", headers=OM).json()["items"]
    assert sum(1 for m in team if any(t["course"] == "mosovo" for t in m["training"])) == 2
    spec = client.get("/openapi.json").json()
    assert "/api/v1/cases/{case_id}/transitions" in spec["paths"]
    assert not any(("put" in ops or "delete" in ops) for p, ops in spec["paths"].items() if "/notes" in p)
