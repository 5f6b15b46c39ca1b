"""The gateway under load: every 503 carries Retry-After, concurrent checks of one partner key cost
one call to the key store, and a circuit breaker whose probe never reported back opens again."""

from __future__ import annotations

import asyncio
import time

from fastapi.testclient import TestClient
from gateway.breaker import CircuitBreaker
from gateway.keys import AgencyKey, CachingKeyVerifier, KeyServiceError
from gateway.testing import FakeKeyStore

KEY = "hhpu_k1_secret"


class SlowStore(FakeKeyStore):
    """A key store that answers after `delay_s` (or fails), counting calls."""

    def __init__(self, delay_s: float, fail: bool = False) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.fail = fail

    async def verify(self, key: str) -> AgencyKey | None:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise KeyServiceError("key store away")
        return self.keys.get(key)


def test_a_burst_with_one_key_costs_the_key_store_one_check() -> None:
    store = SlowStore(0.2)
    store.add(KEY)
    verifier = CachingKeyVerifier(store, ttl_s=30)

    async def burst() -> list[AgencyKey | None]:
        return list(await asyncio.gather(*(verifier.verify(KEY) for _ in range(30))))

    found = asyncio.run(burst())
    assert store.calls == 1
    assert all(f is not None and f.agency_id == "agency-1" for f in found)


def test_a_failed_check_is_shared_and_not_cached() -> None:
    store = SlowStore(0.05, fail=True)
    verifier = CachingKeyVerifier(store, ttl_s=30)

    async def burst() -> list[object]:
        return list(await asyncio.gather(*(verifier.verify(KEY) for _ in range(5)), return_exceptions=True))

    outcomes = asyncio.run(burst())
    assert store.calls == 1 and all(isinstance(o, KeyServiceError) for o in outcomes)
    store.fail = False
    store.add(KEY)
    assert asyncio.run(verifier.verify(KEY)) is not None and store.calls == 2  # asked again


def test_a_caller_that_leaves_does_not_cancel_the_others_check() -> None:
    store = SlowStore(0.3)
    store.add(KEY)
    verifier = CachingKeyVerifier(store, ttl_s=30)

    async def scenario() -> AgencyKey | None:
        leaver = asyncio.create_task(verifier.verify(KEY))
        stayer = asyncio.create_task(verifier.verify(KEY))
        await asyncio.sleep(0.05)
        leaver.cancel()
        return await stayer

    assert asyncio.run(scenario()) is not None and store.calls == 1


def test_a_revocation_during_a_check_is_not_joined_by_later_callers() -> None:
    store = SlowStore(0.2)
    store.add(KEY)
    verifier = CachingKeyVerifier(store, ttl_s=30)

    async def scenario() -> tuple[AgencyKey | None, AgencyKey | None]:
        early = asyncio.create_task(verifier.verify(KEY))
        await asyncio.sleep(0.05)
        store.revoke(KEY)
        verifier.invalidate()  # what the gateway does when it proxies a revocation
        late = await verifier.verify(KEY)
        return await early, late

    _early, late = asyncio.run(scenario())
    assert late is None and store.calls == 2
    assert asyncio.run(verifier.verify(KEY)) is None  # the early answer was not cached


def test_auth_unavailable_is_a_503_with_retry_after(gateway_client, keystore) -> None:  # type: ignore[no-untyped-def]
    async def down(key: str) -> AgencyKey | None:
        raise KeyServiceError("referral-api away")

    keystore.verify = down
    client: TestClient = gateway_client()
    r = client.get("/api/v1/referrals", headers={"X-API-Key": KEY})
    assert r.status_code == 503 and r.json()["code"] == "auth_unavailable"
    assert r.headers["retry-after"] == "1"


def test_an_unreachable_upstream_is_a_503_with_retry_after(gateway_client, keystore) -> None:  # type: ignore[no-untyped-def]
    from gateway.testing import free_port

    keystore.add(KEY)
    client: TestClient = gateway_client(upstreams={"referral-api": f"http://127.0.0.1:{free_port()}"})
    r = client.get("/api/v1/referrals", headers={"X-API-Key": KEY})
    assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["retry-after"] == "1"


def test_a_breaker_whose_probe_never_reports_back_lets_another_probe_through() -> None:
    b = CircuitBreaker("svc", threshold=1, cooldown_s=0.1)
    b.failure()
    assert not b.allow()
    time.sleep(0.12)
    assert b.allow()  # the probe; its caller leaves without success() or failure()
    assert not b.allow()  # one probe at a time
    time.sleep(0.12)
    assert b.allow()  # never shut for good
    b.success()
    assert b.allow() and b.allow()


def test_a_breaker_spares_an_upstream_that_was_reached_for_the_whole_cooldown() -> None:
    """A failure that reached the upstream (timeout, invalid answer) waits the cool-down before a
    probe; one that never reached it (refused) only the unreachable-probe interval. The last decides."""
    b = CircuitBreaker("svc", threshold=1, cooldown_s=30.0, unreachable_probe_s=0.05)
    b.failure()
    time.sleep(0.07)
    assert not b.allow() and b.retry_after() >= 29
    b.failure(unreachable=True)
    assert b.retry_after() == 1
    time.sleep(0.07)
    assert b.allow()  # the probe
    b.failure()  # it reached the upstream and failed: the full cool-down again
    time.sleep(0.07)
    assert not b.allow()
    assert (
        CircuitBreaker("svc", threshold=1, cooldown_s=0.01, unreachable_probe_s=5.0).unreachable_probe_s
        == 0.01
    )


def test_the_connection_limit_answers_503_problem_with_retry_after() -> None:
    """Past GATEWAY_LIMIT_CONCURRENCY connections, the server itself answers (before the app): a 503
    problem+json with Retry-After, the connection closed; once a connection goes, it serves again."""
    import json
    import socket

    from gateway.app import create_app
    from gateway.server import uvicorn_options
    from gateway.testing import ServerThread, make_echo, settings

    s = settings(limit_concurrency=2)
    gw = create_app(s, asgi_apps={"referral-api": make_echo("referral-api")})
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    def ask(server: ServerThread) -> bytes:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(request)
            out = b""
            while chunk := sock.recv(65536):
                out += chunk
            return out

    with ServerThread(gw, lifespan="on", **uvicorn_options(s)) as server:
        assert ask(server).startswith(b"HTTP/1.1 200")
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):  # holds one of the two
            time.sleep(0.2)
            raw = ask(server)
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.lower().split(b"\r\n")
        assert lines[0].startswith(b"http/1.1 503")
        assert b"retry-after: 1" in lines and b"connection: close" in lines
        assert b"content-type: application/problem+json" in lines
        problem = json.loads(body)
        assert problem["status"] == 503 and problem["code"] == "overloaded"
        statuses = []  # the held connection's close reaches the server's loop soon, not at once
        while len(statuses) < 50 and not statuses[-1:] == [b"200"]:
            statuses.append(ask(server)[9:12])
            time.sleep(0.1)
        assert statuses[-1] == b"200", statuses
