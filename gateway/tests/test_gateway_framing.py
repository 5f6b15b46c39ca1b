"""The built-in upstream client against a deliberately misbehaving upstream (raw sockets on 127.0.0.1).

Every badly framed response gives the client a 502 problem+json and the upstream connection closed; no
response, or part of one, ever reaches another client; a request is sent again only when it is safe to.
"""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from gateway.server import uvicorn_options
from gateway.testing import ServerThread, bearer, settings

from gateway import policy

R = "/api/v1/referrals"
STOLEN = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nSTOLEN"


def answer(method: str, path: str, status: int = 200) -> bytes:
    """A well-framed response whose body names the request it answers."""
    body = f"{method} {path}".encode()
    return b"HTTP/1.1 %d X\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%b" % (
        status,
        len(body),
        body,
    )


H = b"HTTP/1.1 200 OK\r\n"
BAD = {
    "xchunked": H + b"Transfer-Encoding: xchunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    "gzip-chunked": H + b"Transfer-Encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    "te-twice": H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    "chunk-0x2": H + b"Transfer-Encoding: chunked\r\n\r\n0x2\r\nhi\r\n0\r\n\r\n",
    "chunk-1_0": H + b"Transfer-Encoding: chunked\r\n\r\n1_0\r\n" + b"h" * 16 + b"\r\n0\r\n\r\n",
    "chunk-minus-1": H + b"Transfer-Encoding: chunked\r\n\r\n-1\r\nhi\r\n0\r\n\r\n",
    "chunk-bad-end": H + b"Transfer-Encoding: chunked\r\n\r\n2\r\nhiXX0\r\n\r\n",
    "cl-and-te": H + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    "cl-twice": H + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\nhi",
    "cl-negative": H + b"Content-Length: -1\r\n\r\nhi",
    "status-000": b"HTTP/1.1 000 X\r\nContent-Length: 2\r\n\r\nhi",
    "status-999": b"HTTP/1.1 999 X\r\nContent-Length: 2\r\n\r\nhi",
    "status-101": b"HTTP/1.1 101 Switching\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
    "version-2": b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
    "bare-lf": H + b"X-A: a\nb\r\nContent-Length: 2\r\n\r\nhi",
    "ctl-char": H + b"X-A: a\x01b\r\nContent-Length: 2\r\n\r\nhi",
    "nul-char": H + b"X-A: a\x00b\r\nContent-Length: 2\r\n\r\nhi",
    "obs-fold": H + b"X-A: a\r\n b\r\nContent-Length: 2\r\n\r\nhi",
    "big-header": H + b"X-Big: " + b"a" * 70_000 + b"\r\nContent-Length: 2\r\n\r\nhi",
    "many-headers": H + b"".join(b"X-%d: a\r\n" % i for i in range(200)) + b"Content-Length: 2\r\n\r\nhi",
    "garbage": b"HTTQ/1.1 200 OK\r\n\r\n",
    "short-body": H + b"Content-Length: 10\r\n\r\nhi",
}


def script(method: str, path: str, n: int) -> list[bytes | float | None]:
    case = path.rsplit("/", 1)[-1]
    if case in BAD:
        return [BAD[case], None] if case == "short-body" else [BAD[case]]
    if case == "extra":  # a second, unasked-for response right behind the first
        return [answer(method, path) + STOLEN]
    if case == "late-extra":  # ... or a moment later, once the connection is back in the pool
        return [answer(method, path), 0.1, STOLEN]
    if case == "no-content-body":
        return [b"HTTP/1.1 204 No Content\r\nContent-Length: 6\r\n\r\nSTOLEN"]
    if case == "no-content-late-body":
        return [b"HTTP/1.1 204 No Content\r\n\r\n", 0.1, STOLEN]
    if case == "head-body":
        return [b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nSTOLEN"]
    if case.startswith("drop") and (n == 1 or case == "drop-always"):
        return [None]  # read the request, then close without a word
    return [answer(method, path)]


def _client(gateway_client, misbehaving, **kw):  # type: ignore[no-untyped-def]
    up = misbehaving(script)
    urls = {"referral-api": up.url, "meeting-service": up.url}
    return up, gateway_client(upstream_client="builtin", upstreams=urls, **kw)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_framing_is_502_and_closes_the_connection(gateway_client, misbehaving, case) -> None:  # type: ignore[no-untyped-def]
    up, client = _client(gateway_client, misbehaving)
    h = bearer(policy.OM)
    r = client.get(f"{R}/{case}", headers=h)
    assert r.status_code == 502, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "bad_gateway" and r.headers["cache-control"] == "no-store"
    assert up.wait_closed(up.conn_of(f"{R}/{case}")), "the upstream connection was left open"
    r = client.get(f"{R}/next", headers=h)  # the next caller gets its own answer on a fresh connection
    assert r.status_code == 200 and r.text == f"GET {R}/next"
    assert up.conn_of(f"{R}/next") != up.conn_of(f"{R}/{case}")
    assert 'status="502"' in client.get("/metrics").text


@pytest.mark.parametrize(
    ("case", "status", "method"),
    [
        ("extra", 200, "GET"),
        ("late-extra", 200, "GET"),
        ("no-content-body", 204, "GET"),
        ("no-content-late-body", 204, "GET"),
        ("head-body", 200, "HEAD"),
    ],
)
def test_unasked_bytes_never_reach_the_next_client(gateway_client, misbehaving, case, status, method) -> None:  # type: ignore[no-untyped-def]
    up, client = _client(gateway_client, misbehaving)
    a, b = bearer(policy.OM, sub="user-a"), bearer(policy.OM, sub="user-b")
    r = client.request(method, f"{R}/{case}", headers=a)
    assert r.status_code == status and b"STOLEN" not in r.content
    if status == 200 and method == "GET":
        assert r.text == f"GET {R}/{case}"
    time.sleep(0.3)  # the late bytes have arrived by now
    for i in range(3):
        r = client.get(f"{R}/b{i}", headers=b)
        assert r.status_code == 200 and r.text == f"GET {R}/b{i}", r.content
    assert up.wait_closed(up.conn_of(f"{R}/{case}"))
    assert up.conn_of(f"{R}/b0") != up.conn_of(f"{R}/{case}")


def test_concurrent_clients_only_ever_get_their_own_answers(misbehaving) -> None:  # type: ignore[no-untyped-def]
    up = misbehaving(script)
    s = settings(
        upstream_client="builtin",
        referral_api_url=up.url,
        pool_size=8,
        breaker_threshold=10**6,
        access_log=False,
    )
    from gateway.app import create_app

    gw = create_app(s)
    # (not "late-extra": a response sent unasked only after the connection was reused cannot be told
    # apart from the answer to the next request; the sequential test shows it is caught while idle)
    extra = ["extra", "no-content-body", "no-content-late-body"]
    kinds = ["ok"] * 6 + extra + random.Random(7).sample(sorted(BAD), 8)
    wrong: list[str] = []
    lock = threading.Lock()
    with ServerThread(gw, lifespan="on", **uvicorn_options(s)) as server:

        def user(u: int) -> None:
            h = bearer(policy.OM, sub=f"user-{u}")
            with httpx.Client(base_url=server.url, timeout=10) as c:
                for i in range(20):
                    kind = kinds[(u * 7 + i) % len(kinds)]
                    path = f"{R}/{kind}" if kind != "ok" else f"{R}/u{u}-{i}"
                    r = c.get(path, headers=h)
                    ok = (
                        r.status_code == 502
                        and r.json()["code"] == "bad_gateway"
                        and kind in BAD
                        or r.status_code in (200, 204)
                        and kind not in BAD
                        and (r.status_code == 204 or r.text == f"GET {path}")
                    )
                    if not ok:
                        with lock:
                            wrong.append(f"{path}: {r.status_code} {r.content[:80]!r}")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(user, range(8)))
    assert wrong == [], "\n".join(wrong)
    assert len(up.requests) >= 8 * 20  # every request reached the upstream (no shortcuts)


@pytest.mark.parametrize("key", [None, "client-key-1"])
def test_non_idempotent_post_is_not_resent_after_a_dropped_connection(
    gateway_client, misbehaving, key
) -> None:  # type: ignore[no-untyped-def]
    up, client = _client(gateway_client, misbehaving, retries=2)
    h = bearer(policy.CH)
    assert client.get("/api/v1/meetings/m1", headers=h).status_code == 200  # a pooled connection to reuse
    if key:
        h["Idempotency-Key"] = key
    r = client.post("/api/v1/meetings/m1/drop-close", headers=h, json={"outcome": "closed"})
    assert r.status_code == 502 and r.json()["code"] == "bad_gateway"
    time.sleep(0.2)
    assert up.count("POST", "/api/v1/meetings/m1/drop-close") == 1  # the upstream saw it once, not twice


def test_safe_methods_and_declared_idempotent_intake_are_resent(
    gateway_client, misbehaving, keystore
) -> None:  # type: ignore[no-untyped-def]
    up, client = _client(gateway_client, misbehaving, retries=1)
    h = bearer(policy.OM)
    assert client.get(f"{R}/warm", headers=h).status_code == 200
    r = client.get(f"{R}/drop-get", headers=h)  # dropped once on a reused connection: safe, sent again
    assert r.status_code == 200 and up.count("GET", f"{R}/drop-get") == 2
    # ... with a fresh identity assertion: the upstream may have read the first, and services refuse
    # an assertion presented twice
    sent = [tok for path, tok in up.identities if path == f"{R}/drop-get"]
    assert len(sent) == 2 and sent[0] and sent[1] and sent[0] != sent[1]
    # referral intake with an Idempotency-Key is declared idempotent; its body is sent again in full
    key = {"X-API-Key": keystore.add("partner-key-1")}

    def intake(path_script: str, **headers: str) -> httpx.Response:
        return client.post(R, headers={**key, **headers}, content=b'{"person":"x"}' * 100)

    up.script = lambda m, p, n: [None] if p == R and n == 1 else [answer(m, p)]
    assert client.get(f"{R}/warm2", headers=h).status_code == 200
    r = intake("", **{"Idempotency-Key": "ref-1"})
    assert r.status_code == 200 and up.count("POST", R) == 2
    sent = [tok for path, tok in up.identities if path == R]
    assert len(sent) == 2 and sent[0] != sent[1]
    bodies = [b for _, m, p, b in up.requests if m == "POST" and p == R]
    assert bodies[0] == bodies[1] == b'{"person":"x"}' * 100
    # without a key the same intake is not sent again
    up.seen.clear()
    assert client.get(f"{R}/warm3", headers=h).status_code == 200
    r = intake("")
    assert r.status_code == 502 and up.count("POST", R) == 3


def test_connect_failure_is_retried_for_any_method(gateway_client, misbehaving) -> None:  # type: ignore[no-untyped-def]
    up, client = _client(gateway_client, misbehaving, retries=1)
    pool = client.app.upstreams["meeting-service"].pool  # type: ignore[attr-defined]
    real_port = pool.port
    attempts: list[int] = []
    original = pool.acquire

    async def flaky(head_only: bool = False):  # type: ignore[no-untyped-def]
        attempts.append(1)
        pool.port = 1 if len(attempts) == 1 else real_port  # first connect refused: nothing was sent
        return await original(head_only)

    pool.acquire = flaky
    r = client.post("/api/v1/meetings/m2/close", headers=bearer(policy.CH), json={})
    assert r.status_code == 200 and len(attempts) == 2
    assert up.count("POST", "/api/v1/meetings/m2/close") == 1


def test_upstream_500_is_recorded_as_500(gateway_client, misbehaving) -> None:  # type: ignore[no-untyped-def]
    up, client = _client(gateway_client, misbehaving)
    up.script = lambda m, p, n: [answer(m, p, 500)]
    r = client.get(f"{R}/boom", headers=bearer(policy.OM))
    assert r.status_code == 500
    text = client.get("/metrics").text
    assert 'route="/api/v1/referrals/{id}",status="500"' in text
    assert 'status="0"' not in text
    assert json.loads(json.dumps(r.headers.get("cache-control"))) == "no-store"
