"""Partner keys end to end with the real referral-api: issued through the gateway by an administrator,
verified by the referral-api's internal endpoint with the gateway's system identity, revoked through
the gateway (the cache entry is dropped at once). Single-process and distributed (HTTP) modes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from gateway.app import create_app
from gateway.testing import ServerThread, bearer, make_echo, settings
from hhpu_shared.testing.databases import migrated
from referral_api.app import create_app as referral_app
from referral_api.migrations import MIGRATIONS
from referral_api.settings import ReferralSettings

from gateway import policy

ADMIN = bearer(policy.AD, sub="admin-1")


@pytest.fixture
def referral(sqlite_url: str) -> Any:
    app = referral_app(ReferralSettings(database_url=migrated(MIGRATIONS, sqlite_url)), run_consumer=False)
    yield app
    app.state.runtime.engine.dispose()


def _others() -> dict[str, Any]:
    return {s: make_echo(s) for s in ("ranking-service", "case-service", "meeting-service")}


def _lifecycle(client: TestClient) -> None:
    r = client.post(
        "/api/v1/agencies",
        json={"name": "Test DAS", "agency_type": "drug_and_alcohol_service", "contact_name": "Lead"},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    agency_id = r.json()["id"]
    r = client.post(f"/api/v1/agencies/{agency_id}/keys", json={"label": "test"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    key, key_id = r.json()["key"], r.json()["key_id"]

    r = client.get("/api/v1/referrals", headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/referrals", headers={"X-API-Key": key + "x"}).status_code == 401
    assert client.get("/api/v1/cases", headers={"X-API-Key": key}).status_code == 403  # partner role
    # A partner reads its own webhook deliveries through the gateway, and no other agency's (the service).
    r = client.get(f"/api/v1/agencies/{agency_id}/webhook-attempts", headers={"X-API-Key": key})
    assert r.status_code == 200 and r.json()["items"] == [], r.text
    r = client.get("/api/v1/agencies/another-agency/webhook-attempts", headers={"X-API-Key": key})
    assert r.status_code == 403 and r.json()["code"] == "forbidden", r.text
    assert client.get(f"/api/v1/agencies/{agency_id}/keys", headers={"X-API-Key": key}).status_code == 403

    r = client.post(f"/api/v1/agencies/{agency_id}/keys/{key_id}/revoke", headers=ADMIN)
    assert r.status_code == 200, r.text
    r = client.get("/api/v1/referrals", headers={"X-API-Key": key})
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"


def test_partner_key_lifecycle_single_process(referral: Any) -> None:
    gw = create_app(settings(key_cache_ttl_s=30), asgi_apps={"referral-api": referral, **_others()})
    with TestClient(gw) as client:
        assert client.get("/readyz").json()["checks"]["referral-api"] == "ok"
        _lifecycle(client)
        doc = client.get("/openapi.json").json()
        assert "/api/v1/referrals/{referral_id}/withdraw" in doc["paths"]
        assert not any("/internal" in p for p in doc["paths"])


@pytest.fixture
def served_referral(referral: Any) -> Iterator[ServerThread]:
    with ServerThread(referral, lifespan="on") as s:
        yield s


def test_partner_key_lifecycle_over_http(served_referral: ServerThread, upstream_client: str) -> None:
    gw = create_app(
        settings(key_cache_ttl_s=30, upstream_client=upstream_client),
        upstreams={"referral-api": served_referral.url},
        asgi_apps=_others(),
    )
    with TestClient(gw) as client:
        _lifecycle(client)
