"""Authentication: staff JWTs (expired, forged, alg=none, wrong audience/issuer refused), partner keys
(revoked refused, cache dropped on a proxied revoke), and identity forwarding (outside header ignored)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from gateway.routes import path_is_safe
from gateway.settings import DEV_JWT_SECRET, GatewaySettings
from gateway.testing import bearer
from gateway.tokens import JwtVerifier, TokenError, generate_dev_keypair, mint_dev_token
from hhpu_shared.auth import IDENTITY_HEADER, Principal, mint_identity, verify_identity
from hhpu_shared.settings import DEV_INTERNAL_SECRET

from gateway import policy

URL = "/api/v1/referrals"


def _none_token(claims: dict[str, object]) -> str:
    def b64(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def _claims(**kw: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": "hhpu-dev-idp",
        "aud": "hhpu-gateway",
        "sub": "u1",
        "roles": ["administrator"],
        "iat": now,
        "exp": now + 600,
    }
    base.update(kw)
    return base


BAD_TOKENS = {
    "expired": lambda: mint_dev_token("u1", ["administrator"], ttl_s=-120),
    "forged": lambda: mint_dev_token("u1", ["administrator"], secret="not-the-dev-secret-" + "x" * 20),
    "alg_none": lambda: _none_token(_claims()),
    "wrong_audience": lambda: mint_dev_token("u1", ["administrator"], audience="someone-else"),
    "wrong_issuer": lambda: mint_dev_token("u1", ["administrator"], issuer="evil-idp"),
    "no_exp": lambda: jwt.encode({k: v for k, v in _claims().items() if k != "exp"}, DEV_JWT_SECRET, "HS256"),
    "garbage": lambda: "not.a.jwt",
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_staff_tokens_are_refused(kind: str, gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    r = client.get(URL, headers={"Authorization": f"Bearer {BAD_TOKENS[kind]()}"})
    assert r.status_code == 401, kind
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "unauthenticated"
    assert "www-authenticate" in r.headers


def test_rs256_via_jwks_and_key_confusion_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pem, jwks = generate_dev_keypair("k1")
    other_pem, _ = generate_dev_keypair("k1")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    v = JwtVerifier(GatewaySettings(jwt_jwks_file=str(path), jwt_dev_secret=""))
    good = mint_dev_token("u9", ["analyst", "system", "partner_agency"], private_key_pem=pem, kid="k1")
    p = v.verify(good)
    assert p.subject == "u9" and p.kind == "staff"
    assert p.roles == frozenset({"analyst"})  # system/partner roles can never come from a JWT
    with pytest.raises(TokenError):
        v.verify(mint_dev_token("u9", ["analyst"], private_key_pem=other_pem, kid="k1"))  # wrong key
    with pytest.raises(TokenError):
        v.verify(mint_dev_token("u9", ["analyst"]))  # HS256 refused when no dev signer is configured
    with pytest.raises(TokenError):
        v.verify(_none_token(_claims()))


def test_partner_key_and_revocation(gateway_client, keystore) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client(key_cache_ttl_s=30)
    key = keystore.add("pk-live-123", agency_id="ag-7", key_id="key-7")
    assert client.get(URL, headers={"X-API-Key": key}).status_code == 200
    assert client.get(URL, headers={"Authorization": f"ApiKey {key}"}).status_code == 200
    assert keystore.calls == 1  # cached
    assert client.get(URL, headers={"X-API-Key": "pk-unknown"}).status_code == 401
    keystore.revoke(key)
    # an administrator revokes through the gateway: the cache entry is dropped at once
    r = client.delete("/api/v1/agencies/ag-7/keys/key-7", headers=bearer(policy.AD))
    assert r.status_code == 200
    r = client.get(URL, headers={"X-API-Key": key})
    assert r.status_code == 401
    assert r.json()["code"] == "unauthenticated"


def test_revoked_key_refused_without_cache(gateway_client, keystore) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client(key_cache_ttl_s=0)
    key = keystore.add("pk-2")
    assert client.get(URL, headers={"X-API-Key": key}).status_code == 200
    keystore.revoke(key)
    assert client.get(URL, headers={"X-API-Key": key}).status_code == 401


def test_identity_header_from_outside_is_ignored(gateway_client, keystore) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    forged = mint_identity(Principal("evil", "staff", frozenset({"administrator"})), DEV_INTERNAL_SECRET)
    # without credentials, a forged (even validly signed) assertion gets nowhere
    r = client.get(URL, headers={IDENTITY_HEADER: forged, "X-HHPU-Other": "x"})
    assert r.status_code == 401
    key = keystore.add("pk-3", agency_id="ag-3", key_id="key-3")
    r = client.get(URL, headers={"X-API-Key": key, IDENTITY_HEADER: forged, "X-HHPU-Other": "x"})
    assert r.status_code == 200
    seen = r.json()
    assert seen["identity"] != forged
    assert "x-hhpu-other" not in seen["header_names"]
    assert "x-api-key" not in seen["header_names"] and "authorization" not in seen["header_names"]
    p = verify_identity(seen["identity"], DEV_INTERNAL_SECRET)
    assert p.subject == "agency-key:key-3" and p.kind == "agency"
    assert p.agency_id == "ag-3" and p.roles == frozenset({"partner_agency"})
    r = client.get(URL, headers={**bearer(policy.OM, sub="om-1", name="Olive"), IDENTITY_HEADER: forged})
    p = verify_identity(r.json()["identity"], DEV_INTERNAL_SECRET)
    assert p.subject == "om-1" and p.roles == frozenset({"offender_manager"}) and p.name == "Olive"


def test_dot_segments_are_unsafe() -> None:
    assert not path_is_safe("/api/v1/referrals/../../internal/v1/keys/verify")
    assert not path_is_safe("/api/v1/referrals/./x")
    assert not path_is_safe("/api/v1/referrals//x")
    assert path_is_safe("/api/v1/referrals/abc-123/withdraw")


def test_partner_key_scopes(gateway_client, keystore) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    ro = keystore.add("pk-read-only", key_id="k-ro", scopes=("referrals:read",))
    assert client.get(URL, headers={"X-API-Key": ro}).status_code == 200
    r = client.post(URL, headers={"X-API-Key": ro}, json={})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert client.get("/api/v1/meetings", headers={"X-API-Key": ro}).status_code == 200  # role-only resource


def test_jwks_url_fetched_at_startup_and_refreshed_for_new_keys(gateway_client) -> None:  # type: ignore[no-untyped-def]
    from gateway.testing import ServerThread, jwks_app

    pem1, jwks1 = generate_dev_keypair("k1")
    pem2, jwks2 = generate_dev_keypair("k2")
    with ServerThread(jwks_app({"keys": jwks1["keys"] + jwks2["keys"]})) as idp:
        client = gateway_client(jwt_jwks_url=f"{idp.url}/jwks.json", jwt_dev_secret="")
        tok = mint_dev_token("u5", ["analyst"], private_key_pem=pem1, kid="k1")
        assert client.get("/api/v1/reports", headers={"Authorization": f"Bearer {tok}"}).status_code == 200
        client.app.jwt.load_jwks(jwks1)  # type: ignore[attr-defined]  # the IdP rotated in k2 since startup
        client.app.ops._jwks_fetched = 0.0  # type: ignore[attr-defined]
        tok2 = mint_dev_token("u5", ["analyst"], private_key_pem=pem2, kid="k2")
        assert client.get("/api/v1/reports", headers={"Authorization": f"Bearer {tok2}"}).status_code == 200
        # HS256 dev tokens are refused when the dev signer is off
        assert client.get("/api/v1/reports", headers=bearer("analyst")).status_code == 401


def test_connection_named_headers_are_not_forwarded(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    h = {**bearer("offender_manager"), "X-Secret": "1"}
    assert "x-secret" in client.get(URL, headers=h).json()["header_names"]
    r = client.get(URL, headers={**h, "Connection": "keep-alive, X-Secret"})
    assert r.status_code == 200
    assert "x-secret" not in r.json()["header_names"]


def test_jwt_cache_is_keyed_by_the_whole_token_and_bounded() -> None:
    """A verified token is answered from the cache; a token differing only in its signature is
    verified afresh (and refused); the cache keeps the most recently used tokens up to its size."""
    v = JwtVerifier(GatewaySettings(jwt_cache_s=60))
    v.cache_size = 2
    a, b, c = (mint_dev_token(f"u{i}", ["analyst"]) for i in range(3))
    assert v.verify(a).subject == "u0"
    head, claims, sig = a.split(".")
    tampered = f"{head}.{claims}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
    with pytest.raises(TokenError):
        v.verify(tampered)  # same header and claims as a cached token: still checked by PyJWT
    assert v.verify(b).subject == "u1"
    assert v.verify(a).subject == "u0"  # a used last: b is now the least recently used
    assert v.verify(c).subject == "u2"
    assert list(v._cache) == [a, c]


def test_expired_token_leaves_the_jwt_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    v = JwtVerifier(GatewaySettings(jwt_cache_s=60))
    token = mint_dev_token("u1", ["analyst"], ttl_s=30)
    assert v.verify(token).subject == "u1"
    clock = time.monotonic() + 31  # the cache entry lives no longer than the token
    monkeypatch.setattr(time, "monotonic", lambda: clock)
    monkeypatch.setattr(time, "time", lambda: clock + 10_000_000)  # and PyJWT sees it expired
    with pytest.raises(TokenError):
        v.verify(token)
    assert token not in v._cache


def test_key_revoked_on_another_replica_is_refused_once_its_cache_entry_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The key cache serves a key revoked elsewhere for at most its TTL, then asks the store again."""
    import asyncio

    from gateway.keys import AgencyKey, CachingKeyVerifier

    class Store:
        def __init__(self) -> None:
            self.live = {"pk-1": AgencyKey("key-1", "ag-1")}
            self.calls = 0

        async def verify(self, key: str) -> AgencyKey | None:
            self.calls += 1
            return self.live.get(key)

    store = Store()
    cache = CachingKeyVerifier(store, ttl_s=5)
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    first = asyncio.run(cache.verify("pk-1"))
    assert first is not None and first.principal.agency_id == "ag-1"
    store.live.clear()  # revoked through another gateway replica: this cache is not told
    now[0] += 4.9
    assert asyncio.run(cache.verify("pk-1")) is first and store.calls == 1  # within the TTL
    now[0] += 0.2
    assert asyncio.run(cache.verify("pk-1")) is None and store.calls == 2  # past it: refused
