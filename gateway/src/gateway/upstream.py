"""Forwarding to one upstream service: over HTTP (aiohttp, distributed) or in-process (ASGI app).

Both share the breaker, timeouts and failure mapping: connect refused / circuit open -> 503,
timeout -> 504, anything else broken before the response started -> 502. A request is sent again only
when it provably never reached the upstream (connect failed), or its method is safe, or its route is
declared idempotent (`routes.IDEMPOTENT_ROUTES`: referral intake with an Idempotency-Key); a client's
Idempotency-Key on any other route changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from hhpu_shared.background import backoff
from starlette.types import Receive, Scope, Send
from yarl import URL

from . import metrics
from .breaker import (
    BadGateway,
    BodyTooLarge,
    CircuitBreaker,
    CircuitOpen,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from .routes import IDEMPOTENT_ROUTES
from .settings import GatewaySettings

log = logging.getLogger("hhpu.gateway.upstream")
Headers = list[tuple[bytes, bytes]]
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_RESPONSE_DROP = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade", b"server", b"date"}
    | {b"x-request-id", b"proxy-authenticate", b"cache-control", b"pragma", b"expires"}
)
SMALL_BODY = 65536


class ClientGone(Exception):
    pass


def replayable(method: str, path: str, headers: Headers) -> bool:
    """May this request be sent again after it may have reached the upstream?"""
    if method in SAFE:
        return True
    if (method, path) in IDEMPOTENT_ROUTES:
        return any(k == b"idempotency-key" and v.strip() for k, v in headers)
    return False


class BodyCounter:
    """Counts streamed request bytes against the limit; `overflow` is checked after the upstream call.

    With `keep` the chunks read so far are kept so the body can be sent again (idempotent routes only).
    """

    __slots__ = ("receive", "limit", "seen", "overflow", "started", "kept", "finished")

    def __init__(self, receive: Receive, limit: int, keep: bool = False) -> None:
        self.receive = receive
        self.limit = limit
        self.seen = 0
        self.overflow = False
        self.started = False
        self.kept: list[bytes] | None = [] if keep else None
        self.finished = False

    @property
    def replayable(self) -> bool:
        return not self.started or self.kept is not None

    async def chunks(self) -> AsyncIterator[bytes]:
        if self.started and self.kept is not None:
            for chunk in list(self.kept):
                yield chunk
            if self.finished:
                return
        self.started = True
        while True:
            msg = await self.receive()
            if msg["type"] == "http.disconnect":
                raise ClientGone()
            chunk = msg.get("body", b"")
            self.seen += len(chunk)
            if self.seen > self.limit:
                self.overflow = True
                raise BodyTooLarge()
            if chunk:
                if self.kept is not None:
                    self.kept.append(chunk)
                yield chunk
            if not msg.get("more_body", False):
                self.finished = True
                return


# A service's printable HTML (meeting pack, reports) may style itself inline; it never runs a script.
DOCUMENT_CSP = (
    b"content-security-policy",
    b"default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
    b"base-uri 'none'; form-action 'none'",
)


def response_headers(raw: Any, extra: Headers) -> Headers:
    out = [(k.lower(), v) for k, v in raw if k.lower() not in _RESPONSE_DROP]
    if any(k == b"content-type" and v.startswith(b"text/html") for k, v in out):
        extra = [h for h in extra if h[0] != DOCUMENT_CSP[0]] + [DOCUMENT_CSP]
    out.extend(extra)
    return out


class Upstream:
    """Common interface; `forward` streams one client request, `call` makes a small internal request."""

    def __init__(self, name: str, settings: GatewaySettings) -> None:
        self.name = name
        self.breaker = CircuitBreaker(
            name,
            settings.breaker_threshold,
            settings.breaker_cooldown_s,
            settings.breaker_unreachable_probe_s,
        )
        self.read_timeout = settings.read_timeout_s
        self.retries = settings.retries
        self.backoff = settings.retry_backoff_s
        self.backoff_max = settings.retry_backoff_max_s

    def retry_delay(self, retry: int) -> float:
        """The wait before retry number `retry` (1-based): the platform's one backoff rule."""
        return backoff(retry, base_s=self.backoff, cap_s=self.backoff_max)

    async def start(self) -> None:  # pragma: no cover - overridden
        return None

    async def close(self) -> None:  # pragma: no cover - overridden
        return None

    def check_breaker(self) -> None:
        if not self.breaker.allow():
            metrics.observe_upstream(self.name, "circuit_open")
            raise CircuitOpen(self.name, f"{self.name} is failing; retry shortly", self.breaker.retry_after())

    async def forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: Headers,
        extra: Headers,
        body: BodyCounter | None,
        remint: Callable[[], bytes] | None = None,
    ) -> int:
        raise NotImplementedError

    async def call(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None, timeout: float = 5.0
    ) -> tuple[int, bytes]:
        raise NotImplementedError


class HttpUpstream(Upstream):
    def __init__(self, name: str, base_url: str, settings: GatewaySettings) -> None:
        super().__init__(name, settings)
        self.base = base_url.rstrip("/")
        self.settings = settings
        self.session: aiohttp.ClientSession | None = None
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=settings.connect_timeout_s, sock_read=settings.read_timeout_s
        )

    async def start(self) -> None:
        if self.session is None:
            connector = aiohttp.TCPConnector(
                limit=self.settings.pool_size, limit_per_host=self.settings.pool_size, keepalive_timeout=30
            )
            self.session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=self.timeout,
            )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def _open(
        self, method: str, url: URL, headers: list[tuple[str, str]], body: BodyCounter | None
    ) -> aiohttp.ClientResponse:
        if self.session is None:
            await self.start()
        assert self.session is not None
        attempts = 1 + self.retries  # only a failed connect is tried again (nothing was sent)
        for attempt in range(attempts):
            try:
                return await self.session.request(
                    method,
                    url,
                    headers=headers,
                    data=body.chunks() if body is not None else None,
                    allow_redirects=False,
                )
            except aiohttp.ClientConnectorError as exc:
                if body is not None and body.overflow:
                    raise BodyTooLarge() from exc
                if attempt + 1 < attempts and (body is None or not body.started):  # never connected
                    await asyncio.sleep(self.retry_delay(attempt + 1))
                    continue
                self.breaker.failure(unreachable=True)
                metrics.observe_upstream(self.name, "unavailable")
                raise UpstreamUnavailable(self.name, f"{self.name} is not reachable") from exc
            except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
                connect_timeout = isinstance(exc, aiohttp.ConnectionTimeoutError)
                self.breaker.failure(unreachable=connect_timeout)
                metrics.observe_upstream(self.name, "timeout")
                if connect_timeout:
                    raise UpstreamUnavailable(self.name, f"{self.name} did not accept a connection") from exc
                raise UpstreamTimeout(self.name, f"{self.name} did not answer in time") from exc
            except (aiohttp.ClientError, BodyTooLarge, ClientGone) as exc:
                if body is not None and body.overflow:
                    raise BodyTooLarge() from exc
                if isinstance(exc, ClientGone) or isinstance(exc.__cause__, ClientGone):
                    raise ClientGone() from exc
                self.breaker.failure()
                metrics.observe_upstream(self.name, "bad_gateway")
                raise BadGateway(self.name, f"{self.name} gave an invalid response") from exc
        raise AssertionError("unreachable")

    async def forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: Headers,
        extra: Headers,
        body: BodyCounter | None,
        remint: Callable[[], bytes] | None = None,
    ) -> int:
        self.check_breaker()
        qs = scope.get("query_string") or b""
        raw_path = scope.get("raw_path") or scope["path"].encode()
        target = self.base + (raw_path + b"?" + qs if qs else raw_path).decode("latin-1")
        hdrs = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]
        start = time.perf_counter()
        resp = await self._open(scope["method"], URL(target, encoded=True), hdrs, body)
        try:
            if body is not None and body.overflow:
                raise BodyTooLarge()
            metrics.observe_upstream(self.name, str(resp.status), time.perf_counter() - start)
            out = response_headers(resp.raw_headers, extra)
            length = resp.content_length
            if length is not None and length <= SMALL_BODY:
                try:
                    data = await resp.read()
                except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
                    self.breaker.failure()
                    raise UpstreamTimeout(self.name, f"{self.name} did not answer in time") from exc
                except aiohttp.ClientError as exc:
                    if body is not None and body.overflow:
                        raise BodyTooLarge() from exc
                    self.breaker.failure()
                    raise BadGateway(self.name, f"{self.name} gave an invalid response") from exc
                await send({"type": "http.response.start", "status": resp.status, "headers": out})
                await send({"type": "http.response.body", "body": data})
            else:
                await send({"type": "http.response.start", "status": resp.status, "headers": out})
                async for chunk in resp.content.iter_any():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
        finally:
            resp.release()
        self.breaker.success()
        return resp.status

    async def call(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None, timeout: float = 5.0
    ) -> tuple[int, bytes]:
        self.check_breaker()
        if self.session is None:
            await self.start()
        assert self.session is not None
        try:
            async with self.session.request(
                method,
                self.base + path,
                headers=headers,
                data=body,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                data = await resp.read()
        except aiohttp.ClientConnectorError as exc:
            self.breaker.failure(unreachable=True)
            raise UpstreamUnavailable(self.name, f"{self.name} is not reachable") from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            self.breaker.failure()
            raise UpstreamTimeout(self.name, f"{self.name} did not answer in time") from exc
        except aiohttp.ClientError as exc:
            self.breaker.failure()
            raise BadGateway(self.name, f"{self.name} gave an invalid response") from exc
        self.breaker.success()
        return resp.status, data
