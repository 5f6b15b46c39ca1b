"""Upstream failures (503 down, 504 timeout, circuit breaker), HTTP forwarding, readiness, docs."""

from __future__ import annotations

import json
import time

from gateway.testing import ServerThread, bearer, free_port, make_echo
from hhpu_shared.auth import verify_identity
from hhpu_shared.settings import DEV_INTERNAL_SECRET

from gateway import policy

URL = "/api/v1/referrals"


def test_forwarding_over_http(gateway_client, served_echo, upstream_client) -> None:  # type: ignore[no-untyped-def]
    up = served_echo("referral-api")
    client = gateway_client(upstream_client=upstream_client, upstreams={"referral-api": up.url})
    r = client.post(f"{URL}?page=2&size=10", headers=bearer(policy.AD, sub="om-5"), json={"a": "b" * 5000})
    assert r.status_code == 200
    seen = r.json()
    assert seen["method"] == "POST" and seen["path"] == URL and seen["query"] == "page=2&size=10"
    assert seen["body_len"] == len(json.dumps({"a": "b" * 5000}).replace(" ", ""))
    assert verify_identity(seen["identity"], DEV_INTERNAL_SECRET).subject == "om-5"
    assert r.headers["x-frame-options"] == "DENY"
    assert client.head(URL, headers=bearer(policy.OM)).status_code == 200


def test_upstream_down_is_503_quickly(gateway_client, upstream_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client(
        upstream_client=upstream_client,
        upstreams={"referral-api": f"http://127.0.0.1:{free_port()}"},
        retries=1,
    )
    start = time.monotonic()
    r = client.get(URL, headers=bearer(policy.OM))
    assert time.monotonic() - start < 2.0
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "upstream_unavailable"
    # POST is not retried but fails the same way
    assert client.post(URL, headers=bearer(policy.AD), json={}).status_code == 503


def test_upstream_timeout_is_504(gateway_client, served_echo, upstream_client) -> None:  # type: ignore[no-untyped-def]
    up = served_echo("referral-api", delay_s=2.0)
    client = gateway_client(
        upstream_client=upstream_client, upstreams={"referral-api": up.url}, read_timeout_s=0.3
    )
    start = time.monotonic()
    r = client.get(URL, headers=bearer(policy.OM))
    assert time.monotonic() - start < 1.5
    assert r.status_code == 504
    assert r.json()["code"] == "upstream_timeout"


def test_in_process_timeout_is_504(gateway_client) -> None:  # type: ignore[no-untyped-def]
    slow = {"referral-api": make_echo("referral-api", delay_s=2.0)}
    client = gateway_client(asgi_apps=slow, read_timeout_s=0.2)
    r = client.get(URL, headers=bearer(policy.OM))
    assert r.status_code == 504


def test_circuit_breaker_opens_and_recovers(gateway_client, served_echo, upstream_client) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    client = gateway_client(
        upstream_client=upstream_client,
        upstreams={"referral-api": f"http://127.0.0.1:{port}"},
        breaker_threshold=2,
        breaker_cooldown_s=0.5,
        retries=0,
    )
    h = bearer(policy.OM)
    assert [client.get(URL, headers=h).json()["code"] for _ in range(2)] == ["upstream_unavailable"] * 2
    r = client.get(URL, headers=h)
    assert r.status_code == 503 and r.json()["code"] == "circuit_open"
    assert int(r.headers["retry-after"]) >= 1
    # other services are unaffected
    assert client.get("/api/v1/cases", headers=h).status_code == 200
    time.sleep(0.6)
    assert client.get(URL, headers=h).json()["code"] == "upstream_unavailable"  # half-open probe fails
    assert client.get(URL, headers=h).json()["code"] == "circuit_open"


def test_a_restarted_upstream_serves_within_the_probe_interval_not_the_cooldown(  # type: ignore[no-untyped-def]
    gateway_client, upstream_client
) -> None:
    """An upstream down (connections refused) opens the breaker; once it listens again, the gateway
    serves it within the unreachable-probe interval (0.2 s here), though the cool-down is 30 s: a
    probe of an upstream that refuses connections costs it nothing. The old breaker answered
    `circuit_open` for the whole cool-down after the upstream was ready."""
    upstream = ServerThread(make_echo("referral-api"))  # its port bound, not yet listening: refused
    client = gateway_client(
        upstream_client=upstream_client,
        upstreams={"referral-api": upstream.url},
        breaker_threshold=2,
        breaker_cooldown_s=30.0,
        breaker_unreachable_probe_s=0.2,
        retries=0,
    )
    h = bearer(policy.OM)
    assert [client.get(URL, headers=h).json()["code"] for _ in range(2)] == ["upstream_unavailable"] * 2
    assert client.get(URL, headers=h).json()["code"] == "circuit_open"
    time.sleep(0.25)
    assert client.get(URL, headers=h).json()["code"] == "upstream_unavailable"  # the probe, still refused
    with upstream:
        ready = time.monotonic()
        codes = []
        while (r := client.get(URL, headers=h)).status_code != 200 and time.monotonic() - ready < 5.0:
            codes.append(r.json()["code"])
            time.sleep(0.02)
        assert r.status_code == 200, codes
        assert time.monotonic() - ready < 1.0, codes
        assert set(codes) <= {"circuit_open"}  # no request reached the upstream before the probe


def test_breaker_closes_after_successful_probe(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client(breaker_threshold=1, breaker_cooldown_s=0.1)
    up = client.app.upstreams["referral-api"]  # type: ignore[attr-defined]
    up.breaker.failure()
    assert client.get(URL, headers=bearer(policy.OM)).json()["code"] == "circuit_open"
    time.sleep(0.15)
    assert client.get(URL, headers=bearer(policy.OM)).status_code == 200
    assert up.breaker.state == "closed"


def test_single_process_runs_service_lifespans(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    assert client.get(URL, headers=bearer(policy.OM)).json()["started"] is True


def test_healthz_readyz(gateway_client, upstream_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and set(r.json()["checks"].values()) == {"ok"}
    client = gateway_client(
        upstream_client=upstream_client, upstreams={"meeting-service": f"http://127.0.0.1:{free_port()}"}
    )
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["meeting-service"] != "ok" and r.json()["checks"]["case-service"] == "ok"


def test_readyz_says_degraded_while_a_service_serves_without_its_broker(gateway_client) -> None:  # type: ignore[no-untyped-def]
    """A service answering /readyz 200 "degraded" (its broker away, its outbox waiting) is serving:
    the gateway's aggregate stays 200 and says which service is degraded."""

    async def degraded(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        body = json.dumps({"status": "degraded", "checks": {"database": True, "kafka": False}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    client = gateway_client(asgi_apps={"meeting-service": degraded})
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "degraded"
    assert r.json()["checks"]["meeting-service"] == "degraded" and r.json()["checks"]["case-service"] == "ok"


def test_openapi_merged_and_docs(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    doc = client.get("/openapi.json").json()
    assert "/api/v1/referrals" in doc["paths"] and "/api/v1/meetings" in doc["paths"]
    assert not any(p.startswith("/internal") for p in doc["paths"])
    op = doc["paths"]["/api/v1/referrals"]["get"]
    assert op["x-hhpu-service"] == "referral-api" and "partner_agency" in op["x-hhpu-roles"]
    schemas = doc["components"]["schemas"]
    assert "Page" in schemas and "ranking_service__Page" in schemas  # clashing names kept apart
    assert "ApiKey" in doc["components"]["securitySchemes"]
    # every operation names its roles and answers errors as problem+json
    assert "**Roles:**" in op["description"] and "`partner_agency`" in op["description"]
    err = op["responses"]["401"]["content"]["application/problem+json"]
    assert err["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "Problem" in schemas and "FieldError" in schemas


def test_openapi_publishes_each_services_audit_and_subject_access() -> None:
    """Every service documents `/api/v1/audit/{service}`: each is published as that service's own
    path (the one the gateway routes to it), without the `service` parameter."""
    from gateway.openapi import merge
    from gateway.routes import SERVICES, resolve

    param = {"name": "service", "in": "path", "required": True, "schema": {"type": "string"}}
    other = {"name": "person", "in": "query", "schema": {"type": "string"}}
    docs = {
        svc: {
            "paths": {
                "/api/v1/audit/{service}": {"get": {"operationId": "audit", "parameters": [param]}},
                "/api/v1/audit/{service}/verify": {"get": {"operationId": "verify", "parameters": [param]}},
                "/api/v1/subject-access/{service}": {
                    "get": {"operationId": "sar", "parameters": [param, other]}
                },
            }
        }
        for svc in SERVICES
    }
    doc = merge(docs, [])
    for svc in SERVICES:
        for path in (f"/api/v1/audit/{svc}", f"/api/v1/audit/{svc}/verify", f"/api/v1/subject-access/{svc}"):
            op = doc["paths"][path]["get"]
            assert resolve(path) == svc and op["x-hhpu-service"] == svc, path
            assert "service" not in {p["name"] for p in op.get("parameters", [])}, path
            assert "data_protection_officer" in op["x-hhpu-roles"], path
        assert doc["paths"][f"/api/v1/subject-access/{svc}"]["get"]["parameters"] == [other]
    assert not any("{service}" in p for p in doc["paths"])
    merged = {"/api/v1/audit", "/api/v1/subject-access"}  # the gateway's own views over all four
    assert merged <= set(doc["paths"])
    own = {op["get"]["operationId"] for path, op in doc["paths"].items() if path not in merged}
    assert len(own) == 3 * len(SERVICES)


def test_metrics_by_route_and_upstream(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    client.get("/api/v1/cases/c-99", headers=bearer(policy.OM))
    text = client.get("/metrics").text
    assert 'route="/api/v1/cases/**"' in text and "c-99" not in text
    assert 'hhpu_gateway_upstream_requests_total{outcome="200",upstream="case-service"}' in text
    assert 'hhpu_gateway_http_requests_total{method="GET",route="/api/v1/cases/**",status="200"}' in text


def test_large_streamed_response_over_http(gateway_client, served_echo, upstream_client) -> None:  # type: ignore[no-untyped-def]
    up = served_echo("case-service")
    client = gateway_client(upstream_client=upstream_client, upstreams={"case-service": up.url})
    r = client.get("/api/v1/cases/c1/big", headers=bearer(policy.OM))
    assert r.status_code == 200
    assert r.content == b"A" * 50_000 + b"B" * 50_000 + b"C" * 50_000 + b"D" * 50_000
    assert r.headers["x-content-type-options"] == "nosniff"


def test_production_refuses_development_secrets() -> None:
    import pytest
    from gateway.settings import GatewaySettings

    with pytest.raises(ValueError):
        GatewaySettings(environment="production").check_production()
    GatewaySettings(
        environment="production", internal_secret="s" * 40, jwt_dev_secret="", jwt_jwks_url="https://idp/jwks"
    ).check_production()
