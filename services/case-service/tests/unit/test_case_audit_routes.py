"""Must-show 1 for the case-service: every route is in one of two tables. A route that returns (or
changes and returns) a person's data writes one audit entry per person shown, with actor, time,
justification and operation (`SHOWS`); every other route says why it shows no one (`NO_PERSON`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from case_testing import adopt_by_hand, client_for
from fastapi.testclient import TestClient
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.audit_routes import SKELETON_NO_PERSON, Shown, exercise, unlisted
from hhpu_shared.testing.plugin import identity_headers

API = "/api/v1"
WHY = "audit coverage: case review"
OM, SUP, DPO = "offender_manager", "unit_supervisor", "data_protection_officer"


def hdr(role: str) -> dict[str, str]:
    return identity_headers(role, subject=f"user:{role}") | {"X-Justification": WHY}


def post(client: TestClient, path: str, body: Any, role: str = OM, status: int = 201) -> Any:
    r = client.post(f"{API}{path}", json=body, headers=hdr(role))
    assert r.status_code == status, (path, r.text)
    return r.json()


def base(client: TestClient) -> dict[str, Any]:
    """Kim Ray (records id R-77) with a managed case allocated to the offender manager, a risk
    assessment overdue, a note and an intervention; Ava Cole with an open suitability assessment;
    Sam Hill with nothing yet."""
    manager = post(client, "/managers", {"staff_id": f"user:{OM}", "name": "PC Ann Lee"}, SUP)
    kim = post(client, "/people", {"given_name": "Kim", "family_name": "Ray", "records_id": "R-77"})
    ava = post(client, "/people", {"given_name": "Ava", "family_name": "Cole"})
    sam = post(client, "/people", {"given_name": "Sam", "family_name": "Hill"})
    case = post(
        client, "/cases", {"person_id": kim["id"], "cohort": "hhpu", "identified_by": "internal_referral"}
    )
    assert adopt_by_hand(client, case["id"]).status_code == 200
    post(
        client,
        f"/cases/{case['id']}/allocation",
        {"manager_id": manager["id"], "accept_over_capacity": True},
        SUP,
        200,
    )
    long_ago = (date.today() - timedelta(days=400)).isoformat()
    post(
        client,
        f"/cases/{case['id']}/risk/iom",
        {"likelihood": "high", "harm": "high", "assessed_on": long_ago},
    )
    post(client, f"/cases/{case['id']}/notes", {"kind": "fact", "text": "Seen at home."})
    iv = post(
        client, f"/cases/{case['id']}/interventions", {"code": "home_address_check", "agency": "police"}
    )
    asm = post(client, "/assessments", {"person_id": ava["id"]})
    return {
        "kim": kim["id"],
        "ava": ava["id"],
        "sam": sam["id"],
        "case": case["id"],
        "manager": manager["id"],
        "iv": iv["id"],
        "asm": asm["id"],
    }


KIM = lambda c: {c["kim"]}  # noqa: E731
AVA = lambda c: {c["ava"]}  # noqa: E731
KIM_REFS = lambda c: {c["kim"], "R-77"}  # noqa: E731
C = "/api/v1/cases/{case_id}"
P = "/api/v1/people/{person_id}"
AS = "/api/v1/assessments/{assessment_id}"
RM2000 = {
    "age": 22,
    "sexual_appearances": 2,
    "criminal_appearances": 6,
    "violent_appearances": 1,
    "burglary": False,
    "male_victim": True,
    "stranger_victim": True,
}
ARMS_RISK = (
    "opportunity_to_offend",
    "sexual_preoccupation",
    "offence_related_sexual_interest",
    "emotional_congruence_with_children",
    "hostile_orientation",
    "poor_self_management",
    "negative_social_influences",
)
ARMS_PROTECTIVE = (
    "positive_routine",
    "social_investment",
    "commitment_to_desist",
    "positive_social_influences",
)
ARMS = {"risk": dict.fromkeys(ARMS_RISK, "present"), "protective": dict.fromkeys(ARMS_PROTECTIVE, "absent")}


def imbalanced(client: TestClient) -> dict[str, Any]:
    """`base`, and two more managed cases on the same manager while a second manager has none:
    the team caseload proposes moves, naming cases."""
    ctx = base(client)
    post(client, "/managers", {"staff_id": "user:om2", "name": "PC Raj Patel"}, SUP)
    ctx["case_person"] = {ctx["case"]: ctx["kim"]}
    for given in ("Lou", "Max"):
        pid = post(client, "/people", {"given_name": given, "family_name": "Stone"})["id"]
        cid = post(
            client, "/cases", {"person_id": pid, "cohort": "hhpu", "identified_by": "internal_referral"}
        )["id"]
        assert adopt_by_hand(client, cid).status_code == 200
        body = {"manager_id": ctx["manager"], "accept_over_capacity": True}
        post(client, f"/cases/{cid}/allocation", body, SUP, 200)
        ctx["case_person"][cid] = pid
    return ctx


def moved(c: dict[str, Any]) -> set[str | None]:
    """The people of the cases the team caseload names (it must name some: no hollow check)."""
    ids = [m["case_id"] for m in c["response"]["rebalancing"]]
    return {c["case_person"][i] for i in ids} or {"<no case shown>"}


SHOWS: dict[str, Shown] = {
    # people
    "POST /api/v1/people": Shown(
        lambda c: f"{API}/people",
        lambda c: {c["response"]["id"]},
        OM,
        "collect",
        body=lambda c: {"given_name": "Lee", "family_name": "Dunn", "date_of_birth": "1988-05-05"},
        status=201,
    ),
    "GET /api/v1/people": Shown(lambda c: f"{API}/people", lambda c: {c["kim"], c["ava"], c["sam"]}),
    f"GET {P}": Shown(lambda c: f"{API}/people/{c['kim']}", KIM),
    f"PATCH {P}": Shown(
        lambda c: f"{API}/people/{c['kim']}", KIM, OM, "alter", body=lambda c: {"area": "Woking"}
    ),
    f"POST {P}/merge": Shown(
        lambda c: f"{API}/people/{c['ava']}/merge",
        lambda c: {c["ava"], c["sam"]},
        SUP,
        "combine",
        body=lambda c: {"merged_person_id": c["sam"]},
    ),
    f"POST {P}/erasure": Shown(
        lambda c: f"{API}/people/{c['kim']}/erasure",
        KIM_REFS,
        DPO,
        "erase",
        body=lambda c: {"reason_code": "erasure_request", "reason": "s.47 request upheld"},
        justification="erasure_request: s.47 request upheld",  # the decision's reason (DPA s.47)
    ),
    f"POST {P}/restriction": Shown(
        lambda c: f"{API}/people/{c['kim']}/restriction",
        KIM_REFS,
        DPO,
        "restrict",
        body=lambda c: {"reason_code": "accuracy_contested"},
        justification="accuracy_contested: restricted",
    ),
    "GET /api/v1/retention-reviews": Shown(
        lambda c: f"{API}/retention-reviews?due_before=2100-01-01",
        lambda c: {c["kim"], c["ava"], c["sam"]},
        DPO,
    ),
    f"GET {P}/retention": Shown(lambda c: f"{API}/people/{c['kim']}/retention", KIM, DPO),
    f"POST {P}/retention-review": Shown(
        lambda c: f"{API}/people/{c['kim']}/retention-review",
        KIM,
        DPO,
        "alter",
        body=lambda c: {
            "decision": "retain",
            "reason_code": "serious_harm_capacity",
            "reason": "Breached a DVPN",
        },
    ),
    f"GET {P}/retention-reviews": Shown(lambda c: f"{API}/people/{c['kim']}/retention-reviews", KIM, DPO),
    # cases
    "POST /api/v1/cases": Shown(
        lambda c: f"{API}/cases",
        lambda c: {c["sam"]},
        OM,
        "collect",
        body=lambda c: {"person_id": c["sam"], "cohort": "iom_fixed", "identified_by": "internal_referral"},
        status=201,
    ),
    "GET /api/v1/cases": Shown(lambda c: f"{API}/cases", lambda c: {c["kim"], c["ava"]}),  # Ava: a candidate
    f"GET {C}/summary": Shown(lambda c: f"{API}/cases/{c['case']}/summary", KIM, SUP),
    f"GET {C}": Shown(lambda c: f"{API}/cases/{c['case']}", KIM),
    f"PATCH {C}": Shown(
        lambda c: f"{API}/cases/{c['case']}", KIM, OM, "alter", body=lambda c: {"statutory_status": "licence"}
    ),
    f"POST {C}/transitions": Shown(
        lambda c: f"{API}/cases/{c['case']}/transitions",
        KIM,
        SUP,
        "alter",
        body=lambda c: {"to": "exited", "reason_code": "risk_reduced", "decided_by": "DI Jane Hart"},
    ),
    f"GET {C}/allocation-suggestion": Shown(lambda c: f"{API}/cases/{c['case']}/allocation-suggestion", KIM),
    f"POST {C}/allocation": Shown(
        lambda c: f"{API}/cases/{c['case']}/allocation",
        KIM,
        SUP,
        "alter",
        body=lambda c: {"manager_id": c["manager"], "accept_over_capacity": True},
    ),
    # assessments
    "POST /api/v1/assessments": Shown(
        lambda c: f"{API}/assessments",
        lambda c: {c["sam"]},
        OM,
        "collect",
        body=lambda c: {"person_id": c["sam"]},
        status=201,
    ),
    "GET /api/v1/assessments": Shown(lambda c: f"{API}/assessments?status=open", AVA, "meeting_chair"),
    f"GET {AS}": Shown(lambda c: f"{API}/assessments/{c['asm']}", AVA, "meeting_chair"),
    f"PUT {AS}/checklist": Shown(
        lambda c: f"{API}/assessments/{c['asm']}/checklist",
        AVA,
        OM,
        "alter",
        body=lambda c: {"items": {"recent_offending": True}},
    ),
    f"PUT {AS}/recommendation": Shown(
        lambda c: f"{API}/assessments/{c['asm']}/recommendation",
        AVA,
        OM,
        "alter",
        body=lambda c: {"recommendation": "adopt"},
    ),
    f"POST {AS}/decision": Shown(
        lambda c: f"{API}/assessments/{c['asm']}/decision",
        AVA,
        SUP,
        "alter",
        body=lambda c: {"decision": "decline", "decided_by": "DI Jane Hart", "reason": "not now"},
    ),
    # risk, notes, interventions
    f"POST {C}/risk/rm2000": Shown(
        lambda c: f"{API}/cases/{c['case']}/risk/rm2000",
        KIM,
        OM,
        "collect",
        body=lambda c: RM2000,
        status=201,
    ),
    f"POST {C}/risk/arms": Shown(
        lambda c: f"{API}/cases/{c['case']}/risk/arms", KIM, OM, "collect", body=lambda c: ARMS, status=201
    ),
    f"POST {C}/risk/iom": Shown(
        lambda c: f"{API}/cases/{c['case']}/risk/iom",
        KIM,
        OM,
        "collect",
        body=lambda c: {"likelihood": "low", "harm": "low"},
        status=201,
    ),
    f"GET {C}/risk": Shown(lambda c: f"{API}/cases/{c['case']}/risk", KIM),
    "GET /api/v1/risk/overdue": Shown(lambda c: f"{API}/risk/overdue", KIM),
    f"POST {C}/notes": Shown(
        lambda c: f"{API}/cases/{c['case']}/notes",
        KIM,
        OM,
        "collect",
        body=lambda c: {"kind": "fact", "text": "Phoned."},
        status=201,
    ),
    f"GET {C}/notes": Shown(lambda c: f"{API}/cases/{c['case']}/notes", KIM),
    f"POST {C}/interventions": Shown(
        lambda c: f"{API}/cases/{c['case']}/interventions",
        KIM,
        OM,
        "collect",
        body=lambda c: {"code": "home_address_check", "agency": "police"},
        status=201,
    ),
    f"GET {C}/interventions": Shown(lambda c: f"{API}/cases/{c['case']}/interventions", KIM),
    "PATCH /api/v1/interventions/{intervention_id}": Shown(
        lambda c: f"{API}/interventions/{c['iv']}", KIM, OM, "alter", body=lambda c: {"status": "completed"}
    ),
    # caseloads and reports
    "GET /api/v1/managers/caseload": Shown(
        lambda c: f"{API}/managers/caseload", moved, SUP, setup=imbalanced
    ),
    "GET /api/v1/managers/me/caseload": Shown(lambda c: f"{API}/managers/me/caseload", KIM, OM),
    "GET /api/v1/managers/{manager_id}/cases": Shown(
        lambda c: f"{API}/managers/{c['manager']}/cases", KIM, SUP
    ),
    "GET /api/v1/reports/suitability": Shown(
        lambda c: f"{API}/reports/suitability?since=2000-01-01", lambda c: {c["kim"], c["ava"]}, SUP
    ),
    # data protection
    "GET /api/v1/audit/{service}": Shown(lambda c: f"{API}/audit/case-service?person={c['kim']}", KIM, DPO),
    "GET /api/v1/audit/{service}/references": Shown(
        lambda c: f"{API}/audit/case-service/references?person={c['kim']}", KIM_REFS, DPO
    ),
    "GET /api/v1/subject-access/{service}": Shown(
        lambda c: f"{API}/subject-access/case-service?person={c['kim']}", KIM_REFS, DPO, "disclose"
    ),
}

M = "/api/v1/managers/{manager_id}"
NO_PERSON: dict[str, str] = {
    **SKELETON_NO_PERSON,
    "GET /api/v1/assessments/checklist": "the suitability checklist's items",
    "GET /api/v1/intervention-types": "the catalogue of interventions",
    "POST /api/v1/managers": "an offender manager's record: an officer, not a data subject",
    "GET /api/v1/managers": "offender managers (officers), their capacity and training",
    f"PATCH {M}": "an offender manager's record (an officer)",
    f"POST {M}/training": "an officer's training record",
    "GET /api/v1/reports/evaluation": "the unit's figures: counts and rates, no person",
    "POST /api/v1/erasures": "erasure by reference: answers the references and a count, shows no "
    "one's data (each service audits the erasure it applies)",
}


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[tuple[TestClient, ServiceRuntime]]:
    with client_for(f"sqlite:///{tmp_path}/case.db") as pair:
        yield pair


def test_every_route_is_classified(svc: tuple[TestClient, ServiceRuntime]) -> None:
    assert unlisted(svc[0].app, SHOWS, NO_PERSON) == {  # type: ignore[arg-type]
        "unclassified": [],
        "stale": [],
        "both": [],
        "unexplained": [],
    }


@pytest.mark.parametrize("route", sorted(SHOWS))
def test_each_person_shown_is_audited_with_actor_time_justification_operation(
    svc: tuple[TestClient, ServiceRuntime], route: str
) -> None:
    client, rt = svc
    case = SHOWS[route]
    ctx = (case.setup or base)(client)
    actor = f"user:{case.role}"
    assert exercise(client, rt.engine, route, case, ctx, hdr(case.role), actor, WHY) == []
