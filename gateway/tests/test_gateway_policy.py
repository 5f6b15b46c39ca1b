"""Generated from the policy table: every rule, every method, every role.

401 without credentials, 403 for a role not in the rule, and the request reaches the upstream
(echo) otherwise. Staff roles use a development JWT; the partner role uses an API key.
"""

from __future__ import annotations

import pytest
from gateway.fanout import FANOUT_PATHS
from gateway.routes import resolve
from gateway.testing import FakeKeyStore, bearer

from gateway import policy


def example_path(template: str) -> str:
    parts = [
        "sub/x" if seg == "**" else ("x1" if seg.startswith("{") else seg) for seg in template.split("/")
    ]
    return "/".join(parts)


CASES = [(m, r) for r in policy.POLICY for m in r.methods]


def credentials(role: str, keystore: FakeKeyStore) -> dict[str, str]:
    if role == policy.P:
        return {"X-API-Key": keystore.add("partner-key-1")}
    return bearer(role, sub=f"user-{role}")


def test_every_rule_is_reachable_and_routed() -> None:
    for method, rule in CASES:
        path = example_path(rule.template)
        assert policy.match(method, path) is rule, f"{method} {rule.template} is shadowed by an earlier rule"
        routed = resolve(path) is not None or path in FANOUT_PATHS  # or answered by the gateway itself
        assert routed, f"{rule.template} is not in the routing table"
        assert policy.AD in rule.roles


@pytest.mark.parametrize(("method", "rule"), CASES, ids=[f"{m} {r.template}" for m, r in CASES])
def test_policy_rule_every_role(method: str, rule: policy.Rule, gateway_client, keystore) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    path = example_path(rule.template)
    r = client.request(method, path)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    for role in policy.ALL_ROLES:
        r = client.request(method, path, headers=credentials(role, keystore))
        if role in rule.roles and path in FANOUT_PATHS:
            # the gateway's own fan-out (gateway.fanout) asks the upstreams, here echo apps whose
            # answer is no audit page: let through, then a problem (405 for HEAD, 422 without a
            # person, 502 for the invalid upstream answer), never 401 or 403
            assert r.status_code in (405, 422, 502), (role, r.text)
        elif role in rule.roles:
            assert r.status_code == 200, (role, r.text)
            if method != "HEAD":
                assert r.json()["path"] == path
                assert r.json()["service"] == resolve(path)
        else:
            assert r.status_code == 403, (role, r.status_code)
            if method != "HEAD":
                assert r.json()["code"] == "forbidden"


def test_unlisted_route_is_administrator_only(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    assert policy.match("GET", "/api/v1/rankings/x") is not None
    assert policy.match("POST", "/api/v1/rankings/x") is None  # no write rule for rankings
    assert client.post("/api/v1/rankings/x", headers=bearer(policy.AN)).status_code == 403
    assert client.post("/api/v1/rankings/x", headers=bearer(policy.AD)).status_code == 200


def test_internal_and_unknown_paths_are_never_routed(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    admin = bearer(policy.AD)
    for path in (
        "/internal/v1/keys/verify",
        "/api/v1/nothing",
        "/api/v2/referrals",
        "/api/v1/referrals/../../internal/v1/keys/verify",
        "/api/v1/referrals/%2e%2e/%2e%2e/internal/v1/keys/verify",
        "/api/v1//internal",
    ):
        r = client.post(path, headers=admin, json={"key": "x"})
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/problem+json"
