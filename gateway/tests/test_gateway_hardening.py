"""Request-head limits and the head timeout (served by uvicorn with `uvicorn_options`), fail-closed
settings, staff token lifetime, identity assertions bound to the request, 405 + Allow, no-store, CSP,
trusted proxies."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import jwt
import pytest
from gateway.app import create_app
from gateway.server import uvicorn_options
from gateway.settings import DEV_JWT_SECRET, GatewaySettings
from gateway.testing import ServerThread, bearer, make_echo, settings
from gateway.tokens import mint_dev_token
from hhpu_shared.auth import verify_identity
from hhpu_shared.settings import DEV_INTERNAL_SECRET, DEVELOPMENT_MODES
from pydantic import ValidationError

from gateway import policy

URL = "/api/v1/referrals"
REAL = "r" * 40


@pytest.fixture(scope="module")
def served() -> Iterator[ServerThread]:
    s = settings(head_timeout_s=1.0, max_header_count=50, max_head_bytes=16_384, max_line_bytes=4096)
    gw = create_app(s, asgi_apps={"referral-api": make_echo("referral-api")})
    with ServerThread(gw, lifespan="on", **uvicorn_options(s)) as server:
        yield server


def exchange(server: ServerThread, *parts: bytes, pause: float = 0.0, timeout: float = 4.0) -> bytes:
    """Send `parts` (pausing between them), then read until the server closes; bounded by `timeout`."""
    out = b""
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        try:
            for p in parts:
                sock.sendall(p)
                time.sleep(pause)
        except OSError:
            pass  # the server cut us off mid-send: read what it said
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                # Reset by the server: closed. (A server that closes with request bytes unread sends
                # RST rather than FIN, so the client may see a reset after the response.)
                return out
            if not data:
                return out
            out += data
    raise AssertionError(f"connection still open after {timeout} s; got {out[:200]!r}")


def problem_of(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower(), head
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_too_many_headers_is_431(served) -> None:  # type: ignore[no-untyped-def]
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(200_000))
    status, doc = problem_of(exchange(served, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", headers, b"\r\n"))
    assert status == 431 and doc["code"] in ("too_many_headers", "head_too_large")


def test_huge_header_is_cut_off_not_buffered(served) -> None:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    big = [b"X-Big: "] + [b"a" * 65536] * 160  # 10 MB offered; the server stops reading long before
    status, doc = problem_of(exchange(served, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", *big))
    assert status == 431 and doc["code"] in ("head_too_large", "header_too_large")
    assert time.monotonic() - start < 3.0


def test_long_header_line_and_target(served) -> None:  # type: ignore[no-untyped-def]
    raw = exchange(served, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-L: " + b"a" * 5000 + b"\r\n\r\n")
    assert problem_of(raw) == (431, problem_of(raw)[1]) and problem_of(raw)[1]["code"] == "header_too_large"
    raw = exchange(served, b"GET /healthz?" + b"q" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert problem_of(raw)[0] == 414


def test_malformed_request_is_problem_json(served) -> None:  # type: ignore[no-untyped-def]
    status, doc = problem_of(exchange(served, b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: v\r\n\r\n"))
    assert status == 400 and doc["code"] == "bad_request"


def test_slowloris_head_times_out(served) -> None:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    trickle = [b"GET /healthz HTTP/1.1\r\n"] + [b"X-%d: v\r\n" % i for i in range(20)]
    raw = exchange(served, *trickle, pause=0.2, timeout=4.0)
    elapsed = time.monotonic() - start
    assert problem_of(raw)[0] == 408 and problem_of(raw)[1]["code"] == "head_timeout"
    assert 0.9 <= elapsed < 3.5


def test_silent_connection_is_closed(served) -> None:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    assert exchange(served, timeout=4.0) == b""  # opened, never sent a byte: closed without a word
    assert 0.9 <= time.monotonic() - start < 3.5


def test_normal_requests_and_keep_alive_still_work(served) -> None:  # type: ignore[no-untyped-def]
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", served.port), timeout=4) as sock:
        for _ in range(3):
            sock.sendall(req)
            data = sock.recv(65536)
            assert data.startswith(b"HTTP/1.1 200") and b'{"status":"ok"}' in data
            assert b"cache-control: no-store" in data.lower()
            time.sleep(0.5)  # between requests the head timer is not running


def test_unauthenticated_rate_limit_ignores_x_forwarded_for() -> None:
    s = settings(rate_limit_per_s=0.01, rate_limit_burst=2)
    gw = create_app(s, asgi_apps={"referral-api": make_echo("referral-api")})
    import httpx

    with ServerThread(gw, lifespan="on", **uvicorn_options(s)) as server:  # from loopback, no proxies set
        codes = [
            httpx.get(f"{server.url}{URL}", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
            for i in range(4)
        ]
    assert codes == [401, 401, 429, 429]


# -- fail closed ------------------------------------------------------------------------------------------


def test_development_secrets_refused_outside_development(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("GATEWAY_ENVIRONMENT")
    monkeypatch.delenv("HHPU_ENVIRONMENT", raising=False)
    jwks = {"jwt_jwks_url": "https://idp.invalid/jwks"}
    with pytest.raises(ValidationError):
        GatewaySettings()  # not asked for development: production rules
    for env in ("production",):
        with pytest.raises(ValidationError, match="HHPU_INTERNAL_SECRET"):
            GatewaySettings(environment=env, **jwks)
        with pytest.raises(ValidationError, match="HHPU_INTERNAL_SECRET"):
            GatewaySettings(environment=env, internal_secret=DEV_INTERNAL_SECRET, **jwks)
        with pytest.raises(ValidationError, match="GATEWAY_JWT_DEV_SECRET"):
            GatewaySettings(environment=env, internal_secret=REAL, jwt_dev_secret=DEV_JWT_SECRET, **jwks)
        with pytest.raises(ValidationError, match="JWKS"):
            GatewaySettings(environment=env, internal_secret=REAL)
        ok = GatewaySettings(environment=env, internal_secret=REAL, **jwks)
        assert ok.jwt_dev_secret == ""
    for env in sorted(DEVELOPMENT_MODES):  # the same development modes the services accept
        dev = GatewaySettings(environment=env)
        assert dev.internal_secret == DEV_INTERNAL_SECRET and dev.jwt_dev_secret == DEV_JWT_SECRET
    monkeypatch.setenv("HHPU_ENVIRONMENT", "development")  # the shared switch works too
    assert GatewaySettings().environment == "development"


def test_gateway_process_refuses_to_start_without_real_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "HHPU_"))}
    env["GATEWAY_PORT"] = "1"  # never reached: the settings are refused first
    proc = subprocess.run(
        [sys.executable, "-m", "gateway"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0 and "HHPU_INTERNAL_SECRET" in proc.stderr


def test_dev_tokens_refused_in_production_even_if_signed_right(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client(
        environment="production",
        internal_secret=REAL,
        jwt_dev_secret="",
        jwt_jwks_url="https://idp.invalid/j",
    )
    r = client.get(URL, headers=bearer(policy.AD))
    assert r.status_code == 401


def test_staff_token_lifetime_is_bounded(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client(jwt_max_lifetime_s=3600)
    assert client.get(URL, headers=bearer(policy.OM, ttl_s=3000)).status_code == 200
    r = client.get(URL, headers=bearer(policy.OM, ttl_s=30 * 365 * 86400))  # a 30-year token
    assert r.status_code == 401 and "lifetime" in r.json()["detail"]
    now = int(time.time())
    old = jwt.encode(  # issued long ago, expires soon: exp - iat is still too long
        {"iss": "hhpu-dev-idp", "aud": "hhpu-gateway", "sub": "u", "roles": [policy.OM], "iat": now - 7200}
        | {"exp": now + 600},
        DEV_JWT_SECRET,
        algorithm="HS256",
    )
    assert client.get(URL, headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert mint_dev_token("u", [policy.OM], ttl_s=3600)  # the default dev lifetime fits the default cap


def test_identity_assertion_bound_to_method_and_path(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client(identity_ttl_s=20)
    seen = client.post(f"{URL}/r-9/withdraw?x=1", headers=bearer(policy.AD, sub="om-1"), json={}).json()
    claims = jwt.decode(seen["identity"], DEV_INTERNAL_SECRET, algorithms=["HS256"], audience="hhpu-services")
    assert claims["mth"] == "POST" and claims["pth"] == f"{URL}/r-9/withdraw"
    assert claims["exp"] - claims["iat"] == 20 and claims["jti"]
    assert verify_identity(seen["identity"], DEV_INTERNAL_SECRET).subject == "om-1"
    again = client.post(f"{URL}/r-9/withdraw", headers=bearer(policy.AD, sub="om-1"), json={}).json()
    assert jwt.decode(again["identity"], options={"verify_signature": False})["jti"] != claims["jti"]


# -- answers the gateway gives itself -----------------------------------------------------------------------


def test_local_endpoints_405_with_allow(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    for path in ("/healthz", "/metrics", "/openapi.json", "/docs", "/readyz"):
        r = client.post(path)
        assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD", path
        assert r.headers["content-type"] == "application/problem+json"
    assert client.head("/healthz").status_code == 200


def test_no_store_everywhere_and_csp(gateway_client) -> None:  # type: ignore[no-untyped-def]
    client = gateway_client()
    for r in (
        client.get(URL, headers=bearer(policy.OM)),
        client.get(URL),
        client.get("/api/v1/nowhere", headers=bearer(policy.OM)),
        client.get("/openapi.json"),
    ):
        assert r.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in r.headers["content-security-policy"]
    docs = client.get("/docs")
    assert docs.headers["cache-control"] == "no-store"
    assert docs.headers["content-security-policy"].count("default-src") == 1  # its own CSP, not two


# The environment compose and Kubernetes give the gateway (the image runs the uvicorn command line).
UVICORN_ENV = {
    "UVICORN_HTTP": "gateway.server:GatewayHttpProtocol",
    "UVICORN_WS": "none",
    "UVICORN_PROXY_HEADERS": "false",
    "UVICORN_SERVER_HEADER": "false",
    "UVICORN_ACCESS_LOG": "false",
    "UVICORN_TIMEOUT_KEEP_ALIVE": "5",
    "UVICORN_LIMIT_CONCURRENCY": "2000",
}


def test_uvicorn_command_line_with_the_deployment_environment() -> None:
    import httpx
    from gateway.testing import free_port

    port = free_port()
    env = {**os.environ, **UVICORN_ENV, "GATEWAY_ENVIRONMENT": "development", "GATEWAY_HEAD_TIMEOUT_S": "1"}
    cmd = [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--host", "127.0.0.1"]
    proc = subprocess.Popen([*cmd, "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90  # a cold interpreter on a busy machine
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None, "gateway did not start"
                time.sleep(0.2)
        assert r.status_code == 200 and "server" not in r.headers
        server = ServerThread.__new__(ServerThread)
        server.port = port
        headers = b"".join(b"X-H%d: v\r\n" % i for i in range(1000))
        assert problem_of(exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", headers))[0] == 431
        start = time.monotonic()
        assert problem_of(exchange(server, b"GET /healthz HTTP/1.1\r\n", timeout=4.0))[0] == 408
        assert time.monotonic() - start < 3.5
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_in_process_service_failure_is_recorded_as_its_500(gateway_client) -> None:  # type: ignore[no-untyped-def]
    from fastapi import FastAPI

    svc = FastAPI()

    @svc.get("/api/v1/cases/{case_id}")
    async def boom(case_id: str) -> None:
        raise RuntimeError("service bug")

    client = gateway_client(asgi_apps={"case-service": svc})
    r = client.get("/api/v1/cases/c-1", headers=bearer(policy.OM))
    assert r.status_code == 500 and r.headers["cache-control"] == "no-store"
    text = client.get("/metrics").text
    assert 'hhpu_gateway_http_requests_total{method="GET",route="/api/v1/cases/**",status="500"}' in text
    assert 'outcome="500",upstream="case-service"' in text and 'status="0"' not in text


def test_service_405_reaches_the_client_with_allow(gateway_client) -> None:  # type: ignore[no-untyped-def]
    from fastapi import FastAPI
    from hhpu_shared.errors import install_error_handlers

    svc = FastAPI()
    install_error_handlers(svc)

    @svc.get("/api/v1/cases/{case_id}")
    async def case(case_id: str) -> dict[str, str]:
        return {"id": case_id}

    @svc.patch("/api/v1/cases/{case_id}")
    async def change(case_id: str) -> dict[str, str]:
        return {"id": case_id}

    client = gateway_client(asgi_apps={"case-service": svc})
    r = client.delete("/api/v1/cases/c-1", headers=bearer(policy.AD))
    assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"
    assert r.headers["allow"] == "GET, PATCH" and r.headers["cache-control"] == "no-store"


def test_service_html_gets_the_document_csp_and_no_store(gateway_client) -> None:  # type: ignore[no-untyped-def]
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    svc = FastAPI()

    @svc.get("/api/v1/cases/{case_id}/summary")
    async def summary(case_id: str) -> HTMLResponse:
        html = "<html><style>h1{color:red}</style><script>alert(1)</script><h1>Dean Marsh</h1></html>"
        return HTMLResponse(html, headers={"Cache-Control": "public, max-age=3600"})

    client = gateway_client(asgi_apps={"case-service": svc})
    r = client.get("/api/v1/cases/c-1/summary", headers=bearer(policy.OM))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    [csp] = r.headers.get_list("content-security-policy")  # one policy: the document one
    assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp and "script-src" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers.get_list("cache-control") == ["no-store"]  # the service's caching is not passed on


def test_rejections_and_circuits_are_exported_at_zero_before_the_first(gateway_client) -> None:  # type: ignore[no-untyped-def]
    """A restarted gateway's dashboard panel "rejected requests / open circuits" must have data before
    anything is refused or any circuit opens (the fault suite found it empty after a gateway kill)."""
    from gateway import metrics

    client = gateway_client()
    text = client.get("/metrics").text
    for reason in metrics.REJECTION_REASONS:
        assert f'hhpu_gateway_rejected_total{{reason="{reason}"}}' in text, reason
    assert 'hhpu_gateway_circuit_open{upstream="case-service"} 0.0' in text
