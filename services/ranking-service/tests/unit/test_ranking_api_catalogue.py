"""The catalogue's lists (scoring models, weight editions) page like every other list."""

from __future__ import annotations

from fastapi.testclient import TestClient
from hhpu_shared.testing.plugin import identity_headers

OM = identity_headers("offender_manager")


def test_models_and_weight_editions_are_paged(rank_client: TestClient) -> None:
    editions = rank_client.get("/api/v1/weight-editions", headers=OM).json()
    assert {"edition": "cchi-2020"} in editions["items"] and editions["total"] >= 1
    models = rank_client.get("/api/v1/models", params={"limit": 2}, headers=OM).json()
    assert models["total"] >= 8 and len(models["items"]) == 2 and models["limit"] == 2
    rest = rank_client.get("/api/v1/models", params={"offset": 2, "limit": 500}, headers=OM).json()
    refs = {m["ref"]: m for m in models["items"] + rest["items"]}
    assert len(refs) == models["total"] and refs["hh_recency_harm@2"]["description"]
    assert refs["rfgv@2"]["params"]["algorithm"] == refs["rfgv@2"]["algorithm"] == "rfg"
    bad = rank_client.get("/api/v1/models", params={"limit": -1}, headers=OM)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
