"""Load shedding: a service answers a clear 503 with ``Retry-After`` while overloaded, never hangs.

- :class:`ConcurrencyLimitMiddleware` admits at most ``limit`` API requests at once; a request that
  cannot get a slot within ``queue_timeout_s`` is answered 503 ``overloaded`` with ``Retry-After``.
  Probes and metrics are never queued, so readiness still answers while the API sheds load.
- Every request runs to its end in its own task, shielded from a caller that gives up (the
  gateway's timeout, a client gone): a sync route holds its database session on a worker thread, and
  cancelling the request would close that session from another thread while the route still uses it
  (``IllegalStateChangeError``, a connection never returned, SQLite's write lock held for good).
- :func:`install_overload_handlers` maps "the database cannot serve now" (pool exhausted, SQLite busy,
  connection lost) to 503 ``database_unavailable`` with ``Retry-After`` instead of a 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hhpu_shared import metrics
from hhpu_shared.db import DATABASE_UNAVAILABLE
from hhpu_shared.errors import problem

log = logging.getLogger("hhpu.overload")

UNQUEUED = ("/healthz", "/readyz", "/metrics", "/internal/")
RETRY_AFTER_S = 1
_THREADS_BASE = 40  # anyio's default worker-thread count
_thread_needs: dict[str, int] = {}


def reserve_threads(name: str, count: int) -> int:
    """Make room in the event loop's worker-thread pool for `count` requests of service `name`.

    Sync routes run on that pool; services sharing one process (single-process mode) each add their
    limit, so one service's admitted requests can never starve another's probes. Returns the size."""
    _thread_needs[name] = count
    limiter = anyio.to_thread.current_default_thread_limiter()
    limiter.total_tokens = max(limiter.total_tokens, _THREADS_BASE + sum(_thread_needs.values()))
    return int(limiter.total_tokens)


class ConcurrencyLimitMiddleware:
    """At most `limit` requests in flight (0: no limit); the rest wait `queue_timeout_s`, then 503."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        limit: int,
        queue_timeout_s: float,
        unqueued: Iterable[str] = UNQUEUED,
    ) -> None:
        self.app = app
        self.service = service
        self.limit = limit
        self.queue_timeout_s = queue_timeout_s
        self.unqueued = tuple(unqueued)
        self._slots: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.limit <= 0 or scope["path"].startswith(self.unqueued):
            await self._shielded(scope, receive, send, None)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        try:
            if self._slots.locked():  # full, or others already waiting: wait in line, bounded
                await asyncio.wait_for(self._slots.acquire(), self.queue_timeout_s)
            else:  # a free slot is taken at once (no task and timer made for the wait)
                await self._slots.acquire()
        except TimeoutError:
            metrics.HTTP_SHED.labels(self.service, "overloaded").inc()
            resp = problem(
                503,
                "Service unavailable",
                f"{self.service} is at its limit of {self.limit} concurrent requests; retry shortly",
                "overloaded",
                retry_after=RETRY_AFTER_S,
            )
            await resp(scope, receive, send)
            return
        await self._shielded(scope, receive, send, self._slots)

    async def _shielded(
        self, scope: Scope, receive: Receive, send: Send, slots: asyncio.Semaphore | None
    ) -> None:
        """Run the request in its own task; a caller that leaves does not cut it short."""
        gone = False

        async def send_(message: Message) -> None:
            if not gone:
                await send(message)

        async def run() -> None:
            try:
                await self.app(scope, receive, send_)
            finally:
                if slots is not None:
                    slots.release()

        def done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            if gone and not task.cancelled() and (exc := task.exception()) is not None:
                log.warning("request failed after its caller left", extra={"error": type(exc).__name__})

        task = asyncio.ensure_future(run())
        self._tasks.add(task)  # a strong reference until it ends
        task.add_done_callback(done)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            gone = True  # the caller gave up: the request still finishes (and commits or rolls back)
            raise


def install_overload_handlers(app: FastAPI) -> None:
    """The database cannot serve now: 503 with Retry-After (the request can be retried as it was)."""

    async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
        runtime = getattr(request.app.state, "runtime", None)
        metrics.HTTP_SHED.labels(getattr(runtime, "service", "service"), "database_unavailable").inc()
        log.warning("database unavailable", extra={"error": type(exc).__name__})
        return problem(
            503,
            "Service unavailable",
            "the service's database is busy or unreachable; retry shortly",
            "database_unavailable",
            instance=request.url.path,
            retry_after=RETRY_AFTER_S,
        )

    for exc_type in (PoolTimeout, *DATABASE_UNAVAILABLE):
        app.add_exception_handler(exc_type, _unavailable)
