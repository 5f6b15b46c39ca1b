"""On PostgreSQL, which cannot store or even compare a NUL: a NUL in a path, a query or a body is a
422 problem+json with a field code, never a database error, and nothing is stored."""

from __future__ import annotations

import pytest
from case_testing import client_for, headers
from hhpu_shared.testing.databases import row_counts

pytestmark = pytest.mark.postgres

H = headers("offender_manager")


def test_nul_anywhere_is_a_422_not_a_database_error(pg_url: str) -> None:
    with client_for(pg_url) as (client, runtime):
        client.post("/api/v1/people", json={"given_name": "Sam", "family_name": "Hill"}, headers=H)
        before = row_counts(runtime.engine)
        for method, url, body, field in [
            ("GET", "/api/v1/people/p%00x", None, "path"),
            ("GET", "/api/v1/cases/c%00x", None, "path"),
            ("GET", "/api/v1/people?q=Sam%00", None, "query"),
            ("GET", "/api/v1/assessments?person_id=p%00x", None, "query"),
            ("POST", "/api/v1/people", {"given_name": "Sam\x00", "family_name": "Hill"}, "given_name"),
            ("POST", "/api/v1/assessments", {"person_id": "p\x00x"}, "person_id"),
        ]:
            r = client.request(method, url, json=body, headers=H)
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", url
            assert r.json()["errors"][0] | {"message": ""} == {
                "field": field,
                "code": "control_character",
                "message": "",
            }
        assert row_counts(runtime.engine) == before
