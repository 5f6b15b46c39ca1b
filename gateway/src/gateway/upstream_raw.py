"""Distributed mode over the gateway's own HTTP/1.1 client (``rawhttp``): the default, chosen by measurement.

Same contract as ``HttpUpstream`` (aiohttp): connect failures and an open circuit -> 503, read timeout
-> 504, broken or badly framed responses -> 502 (and the connection closed). Sending again: always when
nothing was sent (connect failed, or a pooled connection found closed before the first byte was written);
after the request was written and the connection died before any response byte, only for safe methods
and declared idempotent routes (``upstream.replayable``), never because of a client's Idempotency-Key.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from hhpu_shared.auth import IDENTITY_HEADER
from starlette.types import Receive, Scope, Send

from . import metrics
from .breaker import BadGateway, BodyTooLarge, ResponseBroken, UpstreamTimeout, UpstreamUnavailable
from .rawhttp import (
    NO_BODY_STATUS,
    Conn,
    ConnectFailed,
    NotSent,
    Pool,
    ProtocolError,
    ReadTimeout,
    StaleConnection,
)
from .settings import GatewaySettings
from .upstream import (
    SAFE,
    SMALL_BODY,
    BodyCounter,
    ClientGone,
    Headers,
    Upstream,
    replayable,
    response_headers,
)

IDENTITY = IDENTITY_HEADER.encode()


class RawHttpUpstream(Upstream):
    def __init__(self, name: str, base_url: str, settings: GatewaySettings) -> None:
        super().__init__(name, settings)
        u = urlsplit(base_url)
        if u.scheme != "http" or not u.hostname:
            raise ValueError(
                f"{name}: the built-in client speaks plain http:// only (use upstream_client=aiohttp)"
            )
        self.base_path = u.path.rstrip("/").encode()
        self.host_header = (u.netloc or u.hostname).encode()
        self.pool = Pool(
            u.hostname,
            u.port or 80,
            settings.pool_size,
            settings.connect_timeout_s,
            settings.read_timeout_s,
            settings.upstream_idle_s,
        )

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self.pool.close()

    def _fail(self, outcome: str) -> None:
        self.breaker.failure(unreachable=outcome == "unavailable")  # "unavailable": nothing reached it
        metrics.observe_upstream(self.name, outcome)

    def _bad(self, detail: str = "gave an invalid response") -> BadGateway:
        self._fail("bad_gateway")
        return BadGateway(self.name, f"{self.name} {detail}")

    async def _exchange(
        self,
        method: str,
        head: bytes,
        body: BodyCounter | None,
        chunked: bool,
        again: bool,
        fresh_head: Callable[[], bytes] | None = None,
    ) -> Conn:
        """Send the request and read the response head; returns the connection holding the response.

        A request sent again after the upstream may have read it goes with `fresh_head()` (a new
        identity assertion: services refuse one presented twice)."""
        attempts = 1 + self.retries
        attempt = 0
        while True:
            attempt += 1
            more = attempt < attempts and (body is None or body.replayable)
            try:
                conn, reused = await self.pool.acquire(method == "HEAD")
            except ConnectFailed as exc:
                if more:  # nothing reached the upstream
                    await asyncio.sleep(self.retry_delay(attempt))
                    continue
                self._fail("unavailable")
                raise UpstreamUnavailable(self.name, f"{self.name} is not reachable") from exc
            try:
                try:
                    await conn.write(head)
                    if body is not None:
                        await _send_body(conn, body, chunked)
                except NotSent:
                    raise
                except (ProtocolError, OSError):
                    if not conn.received:
                        raise
                    conn.dirty = True  # the upstream answered early (e.g. 413): relay it, never reuse
                await conn.read_head()
                return conn
            except NotSent as exc:
                self.pool.release(conn, False)
                if more:
                    continue
                self._fail("unavailable")
                raise UpstreamUnavailable(self.name, f"{self.name} is not reachable") from exc
            except StaleConnection as exc:
                self.pool.release(conn, False)
                if reused and again and more:
                    if fresh_head is not None:
                        head = fresh_head()
                    continue  # safe or declared idempotent: may be sent again
                raise self._bad("closed the connection") from exc
            except ReadTimeout as exc:
                self.pool.release(conn, False)
                self._fail("timeout")
                raise UpstreamTimeout(self.name, f"{self.name} did not answer in time") from exc
            except (BodyTooLarge, ClientGone, asyncio.CancelledError):
                self.pool.release(conn, False)
                raise
            except (ProtocolError, OSError) as exc:
                self.pool.release(conn, False)
                raise self._bad() from exc
            except BaseException:
                self.pool.release(conn, False)
                raise

    def _head(self, method: str, target: bytes, headers: Headers, chunked: bool) -> bytes:
        parts = [
            method.encode(),
            b" ",
            self.base_path,
            target,
            b" HTTP/1.1\r\nhost: ",
            self.host_header,
            b"\r\n",
        ]
        for k, v in headers:
            parts += (k, b": ", v, b"\r\n")
        if chunked:
            parts.append(b"transfer-encoding: chunked\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)

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
        method: str = scope["method"]
        qs = scope.get("query_string") or b""
        raw_path = scope.get("raw_path") or scope["path"].encode()
        target = raw_path + b"?" + qs if qs else raw_path
        chunked = body is not None and not any(k == b"content-length" for k, _ in headers)
        again = replayable(method, scope["path"], headers)
        start = time.perf_counter()

        def fresh_head() -> bytes:
            assert remint is not None
            renewed = [(k, remint()) if k == IDENTITY else (k, v) for k, v in headers]
            return self._head(method, target, renewed, chunked)

        conn = await self._exchange(
            method,
            self._head(method, target, headers, chunked),
            body,
            chunked,
            again,
            fresh_head if remint is not None else None,
        )
        ok = False
        try:
            status = conn.status
            metrics.observe_upstream(self.name, str(status), time.perf_counter() - start)
            out = response_headers(conn.headers, extra)
            if status in NO_BODY_STATUS:  # no body follows, whatever length the upstream declared
                out = [h for h in out if h[0] != b"content-length"]
            complete = conn.done
            if not complete and (conn.length is None or conn.length <= SMALL_BODY):
                try:  # up to SMALL_BODY of the body before answering: a broken small response is a 502
                    complete = await conn.prefetch(SMALL_BODY)
                except ReadTimeout as exc:
                    self._fail("timeout")
                    raise UpstreamTimeout(self.name, f"{self.name} did not answer in time") from exc
                except ProtocolError as exc:
                    raise self._bad() from exc
            if complete:
                data = conn.take()
                if conn.chunked:  # whole now: send it with a length
                    out.append((b"content-length", str(len(data)).encode()))
                await send({"type": "http.response.start", "status": status, "headers": out})
                await send({"type": "http.response.body", "body": data})
            else:
                await send({"type": "http.response.start", "status": status, "headers": out})
                try:
                    async for chunk in conn.iter_body():
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except (ProtocolError, ReadTimeout) as exc:
                    self._fail("bad_gateway")
                    raise ResponseBroken(self.name, f"{self.name} broke off the response") from exc
                await send({"type": "http.response.body", "body": b""})
            ok = True
        finally:
            self.pool.release(conn, ok)
        self.breaker.success()
        return status

    async def call(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None, timeout: float = 5.0
    ) -> tuple[int, bytes]:
        self.check_breaker()
        hdrs: Headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        if body is not None:
            hdrs.append((b"content-length", str(len(body)).encode()))
        head = self._head(method, path.encode(), hdrs, False) + (body or b"")

        async def run() -> tuple[int, bytes]:
            conn = await self._exchange(method, head, None, False, method in SAFE)
            ok = False
            try:
                data = await conn.read_body()
                ok = True
            except (ProtocolError, ReadTimeout) as exc:
                raise self._bad() from exc
            finally:
                self.pool.release(conn, ok)
            return conn.status, data

        try:
            result = await asyncio.wait_for(run(), timeout)
        except TimeoutError as exc:
            self._fail("timeout")
            raise UpstreamTimeout(self.name, f"{self.name} did not answer in time") from exc
        self.breaker.success()
        return result


async def _send_body(conn: Conn, body: BodyCounter, chunked: bool) -> None:
    async for chunk in body.chunks():
        await conn.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
    if chunked:
        await conn.write(b"0\r\n\r\n")
