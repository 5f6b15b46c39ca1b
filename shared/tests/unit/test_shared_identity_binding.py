"""Services accept an identity assertion only for the request it was minted for, and only short-lived."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from hhpu_shared.auth import (
    IDENTITY_HEADER,
    IdentityError,
    Principal,
    ReplayGuard,
    mint_identity,
    verify_identity,
)
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


def test_same_assertion_twice_is_a_replay(tmp_path: Path) -> None:
    with _client(tmp_path) as c:
        token = mint_identity(ANALYST, SECRET, ttl_s=30, method="GET", path="/api/v1/things/a")
        assert c.get("/api/v1/things/a", headers=_h(token)).status_code == 200
        again = c.get("/api/v1/things/a", headers=_h(token))
        assert again.status_code == 401
        assert again.headers["content-type"].startswith("application/problem+json")
        fresh = mint_identity(ANALYST, SECRET, ttl_s=30, method="GET", path="/api/v1/things/a")
        assert c.get("/api/v1/things/a", headers=_h(fresh)).status_code == 200


def test_replay_guard_forgets_expired_ids_and_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_000_000.0]
    monkeypatch.setattr("hhpu_shared.auth.time.time", lambda: now[0])
    guard = ReplayGuard(capacity=2)
    assert guard.first_use("a", exp=1_000_010)
    assert not guard.first_use("a", exp=1_000_010)
    assert guard.first_use("b", exp=1_000_020)
    assert not guard.first_use("c", exp=1_000_020), "over capacity: refused, memory does not grow"
    now[0] = 1_000_011  # "a" has expired: it leaves, which makes room
    assert guard.first_use("c", exp=1_000_030)
    assert len(guard) == 2
    # an expired "a" could not be verified again anyway (its exp has passed), so forgetting it is safe


def test_verify_identity_requires_an_id_with_a_guard() -> None:
    token = mint_identity(ANALYST, SECRET, ttl_s=30, method="GET", path="/x", extra={"jti": ""})
    with pytest.raises(IdentityError, match="no id"):
        verify_identity(token, SECRET, method="GET", path="/x", replay_guard=ReplayGuard())


def test_the_secret_is_checked_once_and_a_wrong_or_unfit_one_still_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PyJWT checks an HMAC secret (JSON, PEM, SSH, DER forms) on every token; the services' copy
    checks each secret once. Signatures are still verified, and a secret PyJWT refuses stays refused."""
    from hhpu_shared import auth
    from jwt.algorithms import HMACAlgorithm

    checks: list[object] = []
    real = HMACAlgorithm.prepare_key

    def counted(self: HMACAlgorithm, key: str | bytes) -> bytes:
        checks.append(key)
        return real(self, key)

    monkeypatch.setattr(HMACAlgorithm, "prepare_key", counted)
    monkeypatch.setattr(auth, "_JWT", auth._IdentityJWT())  # a fresh one: nothing checked yet
    for _ in range(5):
        token = mint_identity(ANALYST, SECRET, method="GET", path="/x")
        assert auth.decode_identity(token, SECRET)["sub"] == "u1"
    assert checks == [SECRET]
    with pytest.raises(IdentityError, match="Signature verification failed"):
        auth.decode_identity(token, "t" * 40)
    pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----"
    for _ in range(2):
        with pytest.raises(IdentityError, match="asymmetric key"):
            auth.decode_identity(token, pem)
    assert checks.count(pem) == 2  # refused each time, never kept
