"""Access: partner agencies never (403); analysts aggregate figures only; justification required (422)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from case_testing import client_for, headers
from fastapi.testclient import TestClient
from hhpu_shared.testing.plugin import identity_headers


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('access')}/case.db"
    with client_for(url) as (client, _rt):
        om = headers("offender_manager")
        p = client.post("/api/v1/people", json={"given_name": "Kim", "family_name": "Ray"}, headers=om).json()
        c = client.post(
            "/api/v1/cases",
            json={"person_id": p["id"], "cohort": "hhpu", "identified_by": "algorithm"},
            headers=om,
        ).json()
        yield client, p["id"], c["id"]


def partner() -> dict[str, str]:
    h = identity_headers("partner_agency", agency_id="das", subject="agency:das")
    h["X-Justification"] = "we referred him"
    return h


READS = [
    "/api/v1/people/{p}",
    "/api/v1/people",
    "/api/v1/cases/{c}",
    "/api/v1/cases",
    "/api/v1/cases/{c}/notes",
    "/api/v1/cases/{c}/risk",
    "/api/v1/cases/{c}/interventions",
    "/api/v1/assessments",
    "/api/v1/reports/suitability",
    "/api/v1/managers/caseload",
    "/api/v1/risk/overdue",
]


@pytest.mark.parametrize("path", READS)
def test_case_partner_agencies_never_see_cases(env: tuple[TestClient, str, str], path: str) -> None:
    client, p, c = env
    r = client.get(path.format(p=p, c=c), headers=partner())
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    # even a partner token that claims a staff role is refused
    h = identity_headers("partner_agency", "offender_manager", agency_id="das", subject="agency:das")
    h["X-Justification"] = "x" * 10
    assert client.get(path.format(p=p, c=c), headers=h).status_code == 403


def test_case_partner_cannot_write_or_see_evaluation(env: tuple[TestClient, str, str]) -> None:
    client, p, c = env
    assert (
        client.post(
            f"/api/v1/cases/{c}/notes", json={"kind": "fact", "text": "x"}, headers=partner()
        ).status_code
        == 403
    )
    assert client.get("/api/v1/reports/evaluation", headers=partner()).status_code == 403


@pytest.mark.parametrize(
    "path", ["/api/v1/people/{p}", "/api/v1/cases/{c}", "/api/v1/cases", "/api/v1/people"]
)
def test_case_analyst_sees_aggregates_only(env: tuple[TestClient, str, str], path: str) -> None:
    client, p, c = env
    assert client.get(path.format(p=p, c=c), headers=headers("analyst")).status_code == 403
    assert client.get("/api/v1/reports/evaluation", headers=headers("analyst", why=None)).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/people/{p}", "/api/v1/cases/{c}", "/api/v1/cases/{c}/notes"])
def test_case_reads_need_a_justification(env: tuple[TestClient, str, str], path: str) -> None:
    client, p, c = env
    r = client.get(path.format(p=p, c=c), headers=headers("offender_manager", why=None))
    assert r.status_code == 422
    body = r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    assert body["errors"][0]["field"] == "X-Justification" and body["errors"][0]["code"] == "required"
    assert client.get(path.format(p=p, c=c), headers=headers("offender_manager")).status_code == 200


def test_case_unauthenticated_is_401(env: tuple[TestClient, str, str]) -> None:
    client, _p, c = env
    assert client.get(f"/api/v1/cases/{c}", headers={"X-Justification": "because"}).status_code == 401


def test_case_only_deciders_record_decisions(env: tuple[TestClient, str, str]) -> None:
    client, p, _c = env
    body = {"decision": "adopt", "decided_by": "DI Jane Hart"}
    r = client.post("/api/v1/assessments/nope/decision", json=body, headers=headers("offender_manager"))
    assert r.status_code == 403
    r = client.post("/api/v1/assessments/nope/decision", json=body, headers=headers("meeting_chair"))
    assert r.status_code == 404
