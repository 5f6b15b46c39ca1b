"""Load shedding (hhpu_shared.overload): a bounded line, a clear 503 with Retry-After, probes that
still answer, database waits mapped to 503, and requests a leaving caller cannot cut short."""

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Annotated

import httpx
from fastapi import Depends, FastAPI
from hhpu_shared.errors import install_error_handlers
from hhpu_shared.overload import ConcurrencyLimitMiddleware, install_overload_handlers
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


def make_app(limit: int, queue_timeout_s: float) -> tuple[FastAPI, asyncio.Event, list[str]]:
    app = FastAPI()
    install_error_handlers(app)
    install_overload_handlers(app)
    release = asyncio.Event()
    log: list[str] = []

    @app.get("/api/v1/hold")
    async def hold() -> dict[str, str]:
        await release.wait()
        return {"ok": "yes"}

    @app.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/locked")
    def locked() -> None:
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    @app.get("/api/v1/pool")
    def pool() -> None:
        raise PoolTimeout("QueuePool limit reached")

    def session() -> Iterator[str]:  # like get_uow: opened and closed around a sync route
        log.append("open")
        try:
            yield "session"
        finally:
            log.append("close")

    @app.get("/api/v1/slow")
    def slow(s: Annotated[str, Depends(session, scope="function")]) -> dict[str, str]:
        log.append("route start")
        time.sleep(0.6)
        log.append("route end")
        return {"s": s}

    app.add_middleware(ConcurrencyLimitMiddleware, service="t", limit=limit, queue_timeout_s=queue_timeout_s)
    return app, release, log


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_over_the_limit_a_request_waits_in_line_then_gets_503_with_retry_after() -> None:
    app, release, _ = make_app(limit=2, queue_timeout_s=0.3)

    async def scenario() -> tuple[list[httpx.Response], httpx.Response, float]:
        async with client(app) as c:
            held = [asyncio.create_task(c.get("/api/v1/hold")) for _ in range(2)]
            await asyncio.sleep(0.1)
            started = time.monotonic()
            shed = await c.get("/api/v1/hold")
            waited = time.monotonic() - started
            probe = await c.get("/readyz")  # probes never queue
            assert probe.status_code == 200
            release.set()
            return list(await asyncio.gather(*held)), shed, waited

    held, shed, waited = asyncio.run(scenario())
    assert [r.status_code for r in held] == [200, 200]
    assert shed.status_code == 503 and shed.headers["retry-after"] == "1"
    assert shed.headers["content-type"].startswith("application/problem+json")
    assert shed.json()["code"] == "overloaded"
    assert 0.25 <= waited < 2.0  # it waited its turn (bounded), not failed at once nor hung


def test_a_request_admitted_from_the_line_is_served() -> None:
    app, release, _ = make_app(limit=1, queue_timeout_s=5)

    async def scenario() -> list[int]:
        async with client(app) as c:
            first = asyncio.create_task(c.get("/api/v1/hold"))
            await asyncio.sleep(0.1)
            second = asyncio.create_task(c.get("/api/v1/hold"))
            await asyncio.sleep(0.1)
            release.set()
            return [r.status_code for r in await asyncio.gather(first, second)]

    assert asyncio.run(scenario()) == [200, 200]


def test_database_waits_are_503_with_retry_after() -> None:
    app, _, _ = make_app(limit=4, queue_timeout_s=1)

    async def scenario() -> list[httpx.Response]:
        async with client(app) as c:
            return [await c.get("/api/v1/locked"), await c.get("/api/v1/pool")]

    for r in asyncio.run(scenario()):
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert r.json()["code"] == "database_unavailable"


def test_a_caller_that_leaves_never_closes_the_session_under_a_running_route() -> None:
    """The root cause of the burst failure: a cancelled caller made FastAPI close the route's session
    on another thread while the route still used it. Shielded, the close comes after the route."""
    app, _, log = make_app(limit=4, queue_timeout_s=1)
    threads_before = threading.active_count()

    async def scenario() -> None:
        async with client(app) as c:
            try:
                await asyncio.wait_for(c.get("/api/v1/slow"), 0.2)
            except TimeoutError:
                pass
            else:
                raise AssertionError("the caller should have given up first")
            await asyncio.sleep(1.0)  # the request carries on without its caller

    asyncio.run(scenario())
    assert log == ["open", "route start", "route end", "close"], log
    assert threading.active_count() <= threads_before + 8


def test_no_limit_still_shields_the_request() -> None:
    app, _, log = make_app(limit=0, queue_timeout_s=1)

    async def scenario() -> None:
        async with client(app) as c:
            try:
                await asyncio.wait_for(c.get("/api/v1/slow"), 0.2)
            except TimeoutError:
                pass
            await asyncio.sleep(1.0)

    asyncio.run(scenario())
    assert log == ["open", "route start", "route end", "close"], log
