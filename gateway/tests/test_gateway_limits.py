"""Rate limits (429 + Retry-After), body size limits (413, declared and streamed), CORS, security headers,
request ids."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

from gateway.testing import bearer

from gateway import policy

URL = "/api/v1/referrals"


def test_rate_limit_per_client(gateway_client, keystore) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client(rate_limit_per_s=0.01, rate_limit_burst=3)
    a = bearer(policy.OM, sub="a")
    for _ in range(3):
        assert client.get(URL, headers=a).status_code == 200
    r = client.get(URL, headers=a)
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) >= 1
    assert r.json()["code"] == "rate_limited"
    # another client has its own bucket
    assert client.get(URL, headers=bearer(policy.OM, sub="b")).status_code == 200
    # unauthenticated callers are limited by address, and get 429 before 401 once over the limit
    statuses = [client.get(URL).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_declared_body_too_large(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client(max_body_bytes=1000)
    h = bearer(policy.AD)
    assert client.post(URL, headers=h, content=b"x" * 1000).json()["body_len"] == 1000
    r = client.post(URL, headers=h, content=b"x" * 1001)
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "too_large"


def _chunks(n: int, size: int = 400) -> Iterator[bytes]:
    for _ in range(n):
        yield b"y" * size


def test_streamed_body_too_large_in_process(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client(max_body_bytes=1000)
    h = bearer(policy.AD)
    assert client.post(URL, headers=h, content=_chunks(2)).json()["body_len"] == 800
    r = client.post(URL, headers=h, content=_chunks(5))
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"


def test_streamed_body_too_large_over_http(gateway_client, served_echo, upstream_client) -> None:  # type: ignore[no-untyped-def]
    up = served_echo("referral-api")
    client = gateway_client(
        max_body_bytes=1000, upstream_client=upstream_client, upstreams={"referral-api": up.url}
    )
    h = bearer(policy.AD)
    r = client.post(URL, headers=h, content=_chunks(2))
    assert r.status_code == 200 and r.json()["body_len"] == 800
    r = client.post(URL, headers=h, content=_chunks(5))
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"
    # a normal body still streams through afterwards
    assert client.post(URL, headers=h, content=b"z" * 900).json()["body_len"] == 900


def test_security_headers_and_request_id(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    r = client.get(URL, headers={**bearer(policy.OM), "X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert r.json()["request_id"] == "abc-123"  # propagated to the service
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "max-age" in r.headers["strict-transport-security"]
    r = client.get(URL, headers={**bearer(policy.OM), "X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces" and len(r.headers["x-request-id"]) == 20
    r = client.get(URL)
    assert r.json()["request_id"] == r.headers["x-request-id"]
    assert r.headers["x-frame-options"] == "DENY"


def test_cors(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client(cors_origins=["https://app.example"])
    pre = {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
    r = client.options(URL, headers=pre)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in r.headers["access-control-allow-methods"]
    r = client.options(URL, headers={**pre, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    r = client.get(URL, headers={**bearer(policy.OM), "Origin": "https://app.example"})
    assert r.headers["access-control-allow-origin"] == "https://app.example"
    r = client.get(URL, headers={**bearer(policy.OM), "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_access_log_has_template_not_ids_or_query(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    out = io.StringIO()
    client.app.access.stream = out  # type: ignore[attr-defined]
    r = client.get("/api/v1/people/person-4711?surname=Smith", headers=bearer(policy.OM))
    assert r.status_code == 200
    assert r.json()["query"] == "surname=Smith"  # the query still reaches the service
    client.app.access.flush()  # type: ignore[attr-defined]
    line = json.loads(out.getvalue().strip().splitlines()[-1])
    assert line["route"] == "/api/v1/people/**" and line["status"] == 200 and line["logger"] == "hhpu.access"
    assert line["request_id"] == r.headers["x-request-id"] and line["upstream"] == "case-service"
    assert "4711" not in out.getvalue() and "Smith" not in out.getvalue()
