"""Services accept an identity assertion only for the request it was minted for, and only short-lived."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from hhpu_shared.auth import IDENTITY_HEADER, IdentityError, Principal, mint_identity, verify_identity
from hhpu_shared.http import PrincipalDep, build_service_app
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.settings import ServiceSettings
from hhpu_shared.testing import steps

SECRET = "s" * 40
ANALYST = Principal(subject="u1", kind="staff", roles=frozenset({"analyst"}))


def _client(tmp_path: Path) -> TestClient:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    def read(thing_id: str, principal: PrincipalDep) -> dict[str, str]:
        return {"id": thing_id, "who": principal.subject}

    @router.delete("/things/{thing_id}")
    def delete(thing_id: str, principal: PrincipalDep) -> dict[str, str]:
        return {"deleted": thing_id}

    settings = ServiceSettings(
        service_name="t", database_url=f"sqlite:///{tmp_path}/t.db", internal_secret=SECRET
    )
    runtime = ServiceRuntime(settings, migrations=steps.TestDomainSchema())  # type: ignore[arg-type]
    return TestClient(build_service_app(runtime, title="t", description="t", routers=[router]))


def _h(token: str) -> dict[str, str]:
    return {IDENTITY_HEADER: token}


def test_bound_assertion_is_accepted_only_for_its_own_request(tmp_path: Path) -> None:
    with _client(tmp_path) as c:
        token = mint_identity(ANALYST, SECRET, ttl_s=30, method="GET", path="/api/v1/things/a")
        ok = c.get("/api/v1/things/a", headers=_h(token))
        assert ok.status_code == 200 and ok.json()["who"] == "u1"
        # replayed on another path, or another method: refused
        assert c.get("/api/v1/things/b", headers=_h(token)).status_code == 401
        assert c.delete("/api/v1/things/a", headers=_h(token)).status_code == 401


def test_unbound_and_long_lived_assertions_are_refused(tmp_path: Path) -> None:
    with _client(tmp_path) as c:
        unbound = mint_identity(ANALYST, SECRET, ttl_s=30)
        r = c.get("/api/v1/things/a", headers=_h(unbound))
        assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
        thirty_years = mint_identity(
            ANALYST, SECRET, ttl_s=30 * 365 * 86400, method="GET", path="/api/v1/things/a"
        )
        assert c.get("/api/v1/things/a", headers=_h(thirty_years)).status_code == 401


def test_verify_identity_names_the_reason() -> None:
    token = mint_identity(ANALYST, SECRET, ttl_s=3600, method="GET", path="/x")
    with pytest.raises(IdentityError, match="lifetime"):
        verify_identity(token, SECRET, method="GET", path="/x")
    token = mint_identity(ANALYST, SECRET, ttl_s=30, method="GET", path="/x")
    with pytest.raises(IdentityError, match="path"):
        verify_identity(token, SECRET, method="GET", path="/y")
    assert verify_identity(token, SECRET, method="get", path="/x").subject == "u1"
