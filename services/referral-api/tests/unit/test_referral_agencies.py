"""Partner agencies and API keys: shown once, stored hashed, rotatable, revocable; the gateway's check."""

from __future__ import annotations

import hashlib

from hhpu_shared.testing.plugin import identity_headers
from referral_api.models import ApiKey
from sqlmodel import Session

ADMIN = identity_headers("administrator", subject="user:admin")
SUPERVISOR = identity_headers("unit_supervisor", subject="user:sup")
GATEWAY = identity_headers("system", subject="system:gateway", kind="system")


def _verify(env, key: str):  # type: ignore[no-untyped-def]
    return env.client.post("/internal/v1/keys/verify", json={"key": key}, headers=GATEWAY)


def test_agency_crud(ref_env) -> None:
    c = ref_env.client
    r = c.post(
        "/api/v1/agencies",
        json={"name": "Probation North", "agency_type": "probation", "contact_name": "SPOC"},
        headers=ADMIN,
    )
    assert r.status_code == 201
    aid = r.json()["id"]
    assert r.json()["webhook_secret"] is None and r.json()["active"] is True
    dup = c.post(
        "/api/v1/agencies",
        json={"name": "probation north", "agency_type": "probation", "contact_name": "SPOC"},
        headers=ADMIN,
    )
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate_agency"
    patched = c.patch(
        f"/api/v1/agencies/{aid}", json={"webhook_url": "https://p.example/hook"}, headers=ADMIN
    )
    assert patched.json()["webhook_url"] == "https://p.example/hook"
    assert patched.json()["webhook_secret"].startswith("whsec_")  # first URL: the secret, shown once
    assert "webhook_secret" not in c.get(f"/api/v1/agencies/{aid}", headers=ADMIN).json()
    assert c.get("/api/v1/agencies", headers=SUPERVISOR).json()["total"] == 1
    emptied = c.patch(f"/api/v1/agencies/{aid}", json={"name": None}, headers=ADMIN)
    assert emptied.status_code == 422 and emptied.json()["errors"][0]["field"] == "name"
    assert c.get(f"/api/v1/agencies/{aid}", headers=ADMIN).json()["name"] == "Probation North"
    assert c.post(f"/api/v1/agencies/{aid}/deactivate", headers=ADMIN).json()["active"] is False
    assert c.get(f"/api/v1/agencies/{aid}", headers=ADMIN).json()["active"] is False
    assert c.get("/api/v1/agencies/nope", headers=ADMIN).status_code == 404
    bad = c.post(
        "/api/v1/agencies", json={"name": "x", "agency_type": "circus", "contact_name": "y"}, headers=ADMIN
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "agency_type"
    # Registering, changing and deactivating each tell the other services (one event each);
    # the refused requests told nobody.
    assert ref_env.event_types(aid) == ["agency.changed"] * 3


def test_only_administrators_manage_agencies(ref_env) -> None:
    a = ref_env.agency()
    body = {"name": "X", "agency_type": "housing", "contact_name": "Y"}
    assert ref_env.client.post("/api/v1/agencies", json=body, headers=SUPERVISOR).status_code == 403
    assert ref_env.client.post(f"/api/v1/agencies/{a.id}/keys", headers=SUPERVISOR).status_code == 403
    assert ref_env.client.post(f"/api/v1/agencies/{a.id}/deactivate", headers=a.headers).status_code == 403


def test_key_is_shown_once_and_stored_as_a_hash(ref_env) -> None:
    a = ref_env.agency()
    r = ref_env.client.post(f"/api/v1/agencies/{a.id}/keys", json={"label": "case system"}, headers=ADMIN)
    assert r.status_code == 201
    issued = r.json()
    prefix, key_id, secret = issued["key"].split("_", 2)
    assert prefix == "hhpu" and key_id == issued["key_id"] and len(secret) >= 32
    with Session(ref_env.runtime.engine) as s:
        row = s.get(ApiKey, key_id)
        assert row is not None
        assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in row.secret_hash
    listed = ref_env.client.get(f"/api/v1/agencies/{a.id}/keys", headers=ADMIN).json()["items"]
    assert [k["key_id"] for k in listed] == [key_id]
    assert "key" not in listed[0] and listed[0]["active"] is True

    ok = _verify(ref_env, issued["key"])
    assert ok.status_code == 200
    assert ok.json() == {
        "agency_id": a.id,
        "agency_name": a.name,
        "scopes": ["referrals:write", "referrals:read"],
        "key_id": key_id,
    }


def test_wrong_revoked_rotated_and_inactive_keys_are_refused(ref_env) -> None:
    a = ref_env.agency()
    k1 = ref_env.client.post(f"/api/v1/agencies/{a.id}/keys", headers=ADMIN).json()
    tampered = k1["key"][:-2] + ("AA" if not k1["key"].endswith("AA") else "BB")
    for bad in (tampered, "hhpu_unknown_secret", "not-a-key", ""):
        r = _verify(ref_env, bad)
        assert r.status_code == 401, bad
        assert r.json()["code"] == "invalid_api_key"

    rotated = ref_env.client.post(f"/api/v1/agencies/{a.id}/keys/{k1['key_id']}/rotate", headers=ADMIN)
    assert rotated.status_code == 201
    k2 = rotated.json()
    assert _verify(ref_env, k1["key"]).status_code == 401
    assert _verify(ref_env, k2["key"]).status_code == 200
    old = next(
        k
        for k in ref_env.client.get(f"/api/v1/agencies/{a.id}/keys", headers=ADMIN).json()["items"]
        if k["key_id"] == k1["key_id"]
    )
    assert old["active"] is False and old["replaced_by"] == k2["key_id"]
    again = ref_env.client.post(f"/api/v1/agencies/{a.id}/keys/{k1['key_id']}/rotate", headers=ADMIN)
    assert again.status_code == 409

    ref_env.client.post(f"/api/v1/agencies/{a.id}/deactivate", headers=ADMIN)
    assert _verify(ref_env, k2["key"]).status_code == 401
    assert ref_env.client.post(f"/api/v1/agencies/{a.id}/keys", headers=ADMIN).status_code == 409
    ref_env.client.post(f"/api/v1/agencies/{a.id}/activate", headers=ADMIN)
    assert _verify(ref_env, k2["key"]).status_code == 200

    revoked = ref_env.client.post(f"/api/v1/agencies/{a.id}/keys/{k2['key_id']}/revoke", headers=ADMIN)
    assert revoked.json()["active"] is False
    assert _verify(ref_env, k2["key"]).status_code == 401
    b = ref_env.agency()
    other = ref_env.client.post(f"/api/v1/agencies/{b.id}/keys/{k2['key_id']}/revoke", headers=ADMIN)
    assert other.status_code == 404  # a key is managed only under its own agency


def test_only_a_system_identity_may_verify_keys(ref_env) -> None:
    a = ref_env.agency()
    key = ref_env.client.post(f"/api/v1/agencies/{a.id}/keys", headers=ADMIN).json()["key"]
    for headers in (ADMIN, a.headers):
        assert (
            ref_env.client.post("/internal/v1/keys/verify", json={"key": key}, headers=headers).status_code
            == 403
        )
    assert ref_env.client.post("/internal/v1/keys/verify", json={"key": key}).status_code == 401
    assert ref_env.client.post("/api/v1/keys/verify", json={"key": key}, headers=GATEWAY).status_code == 404


def test_inactive_agency_cannot_refer(ref_env, make_body) -> None:
    a = ref_env.agency()
    ref_env.client.post(f"/api/v1/agencies/{a.id}/deactivate", headers=ADMIN)
    r = ref_env.submit(a, make_body())
    assert r.status_code == 403 and r.json()["code"] == "agency_inactive"
    ghost = identity_headers("partner_agency", subject="agency:ghost", agency_id="ghost")
    assert ref_env.client.post("/api/v1/referrals", json=make_body(), headers=ghost).status_code == 403


def test_openapi_has_examples_and_the_internal_route(ref_env) -> None:
    spec = ref_env.client.get("/openapi.json").json()
    create = spec["components"]["schemas"]["ReferralCreate"]
    assert create["examples"][0]["partner_reference"] == "DAS-2026-0412"
    assert "/internal/v1/keys/verify" in spec["paths"]
    assert "/api/v1/match-reviews/{review_id}/confirm" in spec["paths"]
    assert spec["paths"]["/api/v1/referrals"]["post"]["summary"]
