"""The API's gate: roles, bad requests as problems with field codes, justification for person views,
out-of-range paging on every list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hhpu_shared.testing.plugin import identity_headers
from ranking_api_testing import ANALYST, RUNS, run
from ranking_service.synthetic import SyntheticForce


def test_roles(rank_client: TestClient) -> None:
    assert rank_client.get(RUNS).status_code == 401
    assert (
        rank_client.get(RUNS, headers=identity_headers("partner_agency", agency_id="das")).status_code == 403
    )
    om = identity_headers("offender_manager") | {"X-Justification": "test: roles"}
    assert rank_client.get(RUNS, headers=om).status_code == 200
    assert rank_client.post(RUNS, json={}, headers=om).status_code == 403
    sup = identity_headers("unit_supervisor") | {"X-Justification": "test: roles"}
    assert rank_client.post(RUNS, json={"kind": "dry"}, headers=sup).status_code == 200
    assert "s.49" in rank_client.get("/openapi.json").json()["info"]["description"]


def test_bad_requests_are_problems_with_field_codes(rank_client: TestClient) -> None:
    r = rank_client.post(RUNS, json={"model": "nope@1"}, headers=ANALYST)
    assert r.status_code == 422 and r.json()["errors"][0] == {
        "field": "model",
        "code": "unknown_model",
        "message": "no model nope@1",
    }
    r = rank_client.post(RUNS, json={"top_n": 5, "top_share": 0.1}, headers=ANALYST)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "bracket_conflict"
    r = rank_client.post(RUNS, json={"params": {"lookback_days": 0}}, headers=ANALYST)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "params.lookback_days"
    assert r.json()["errors"][0]["code"] == "too_small"
    # overrides are strict: a boolean or a string is not a number of days, a number is not a flag
    for params, code in (
        ({"lookback_days": True}, "not_an_integer"),
        ({"lookback_days": "30"}, "not_an_integer"),
        ({"half_life_days": "365"}, "not_a_number"),
        ({"use_victims": 1}, "not_a_boolean"),
        ({"no_such_parameter": 1}, "unknown_field"),
    ):
        r = rank_client.post(RUNS, json={"kind": "dry", "params": params}, headers=ANALYST)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["errors"][0]["field"] == f"params.{next(iter(params))}", r.text
        assert r.json()["errors"][0]["code"] == code, r.text
    r = rank_client.post(RUNS, json={"weight_edition": "cchi-1999"}, headers=ANALYST)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_edition"
    assert rank_client.get(RUNS, headers=ANALYST).json()["total"] == 0


def test_person_views_need_a_justification(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    b = run(rank_client, top_n=10)
    bare = identity_headers("analyst", subject="user:ana")
    for path in (
        f"{RUNS}/{b['id']}/entries",
        f"{RUNS}/{b['id']}/entries/P-DEAN-MARSH",
        "/api/v1/people/P-DEAN-MARSH/trajectory",
    ):
        r = rank_client.get(path, headers=bare)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "X-Justification", path
        assert rank_client.get(path, headers=ANALYST).status_code == 200, path


LISTS = [
    RUNS,
    "/api/v1/ranking-runs/{run}/entries",
    "/api/v1/imports",
    "/api/v1/imports/{imp}/rejections",
    "/api/v1/ranking-history",
    "/api/v1/people/P-1/trajectory",
    "/api/v1/audit/{service}",  # the audit trail: the data protection officer's
    "/api/v1/models",
    "/api/v1/weight-editions",
]
NESTED = {"/api/v1/ranking-runs/{run_id}/comparison"}  # one page per list inside the answer
DPO = {**identity_headers("data_protection_officer", subject="user:dpo"), "X-Justification": "test: paging"}


@pytest.mark.parametrize("query", ["offset=" + str(2**70), "limit=-1", "limit=" + str(10**9)])
def test_every_list_rejects_out_of_range_paging(rank_client: TestClient, query: str) -> None:
    body = (
        b"person_id,offence_code,offence_date,recorded_date,outcome\nP-1,xx,2025-01-01,2025-01-01,charged\n"
    )
    imp = rank_client.post("/api/v1/imports/offences?filename=a.csv", content=body, headers=ANALYST).json()
    r = run(rank_client, top_n=5)
    paths = [p.format(run=r["id"], imp=imp["import_id"], service="ranking-service") for p in LISTS]
    for path in paths:
        who = DPO if "/audit/" in path else ANALYST
        ok = rank_client.get(path, headers=who)
        assert ok.status_code == 200 and {"items", "total", "limit", "offset"} <= set(ok.json()), path
        bad = rank_client.get(f"{path}?{query}", headers=who)
        assert bad.status_code == 422, (path, bad.text)
        assert bad.headers["content-type"].startswith("application/problem+json"), path
    # the lists tested are every operation that pages, and every one returns the one page shape
    doc = rank_client.get("/openapi.json").json()
    paged = {
        path
        for path, ops in doc["paths"].items()
        if any(q["name"] == "offset" for q in ops.get("get", {}).get("parameters", []))
    }
    expected = {p.replace("{run}", "{run_id}").replace("{imp}", "{import_id}") for p in LISTS}
    assert paged == {p.replace("P-1", "{person_ref}") for p in expected} | NESTED
