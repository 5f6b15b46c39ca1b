"""Every list endpoint pages with the shared bounded parameters: bad values are 422 problems, never 500."""

from __future__ import annotations

import pytest
from hhpu_shared.testing.plugin import identity_headers

ADMIN = {**identity_headers("administrator", subject="user:admin"), "X-Justification": "test: paging"}
# The audit trail is for the data protection officer and supervisors, not administrators.
DPO = {**identity_headers("data_protection_officer", subject="user:dpo"), "X-Justification": "test: paging"}
BAD_PAGING = ["offset=" + str(2**70), "limit=-1", "limit=" + str(10**9)]


def _list_routes(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The GET routes answering a Page (from the OpenAPI document); a bare list answer fails here."""
    out = []
    for path, ops in app.openapi()["paths"].items():
        get = ops.get("get")
        if get is None:
            continue
        schema = get["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema.get("type") != "array", f"{path} answers a bare list"
        if schema.get("$ref", "").startswith("#/components/schemas/Page_"):
            out.append(path)
    return sorted(out)


def test_the_list_endpoints_are_the_expected_ones(shared_ref_env) -> None:
    assert _list_routes(shared_ref_env.app) == [
        "/api/v1/agencies",
        "/api/v1/agencies/{agency_id}/keys",
        "/api/v1/agencies/{agency_id}/webhook-attempts",
        "/api/v1/audit/{service}",
        "/api/v1/match-reviews",
        "/api/v1/referrals",
    ]


@pytest.mark.parametrize("query", BAD_PAGING)
def test_every_list_endpoint_refuses_out_of_range_paging(shared_ref_env, query: str) -> None:
    agency = shared_ref_env.agency()
    for template in _list_routes(shared_ref_env.app):
        path = template.replace("{service}", "referral-api")
        headers = DPO if "/audit/" in path else ADMIN
        url = path.replace("{agency_id}", agency.id) + "?" + query
        r = shared_ref_env.client.get(url, headers=headers)
        assert r.status_code == 422, (url, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), url
        field = query.split("=")[0]
        assert [e["field"] for e in r.json()["errors"]] == [f"query.{field}"], url
        ok = shared_ref_env.client.get(path.replace("{agency_id}", agency.id) + "?limit=500", headers=headers)
        assert ok.status_code == 200 and ok.json()["limit"] == 500, url
