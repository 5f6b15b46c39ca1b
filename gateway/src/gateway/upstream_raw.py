"""Distributed mode over the gateway's own HTTP/1.1 client (``rawhttp``): the default, chosen by measurement.

Same contract as ``HttpUpstream`` (aiohttp): connect failures and an open circuit -> 503, read timeout
-> 504, broken responses -> 502; idempotent methods (or requests with an ``Idempotency-Key``) are retried
on a fresh connection when the first failed before any response byte.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

from starlette.types import Receive, Scope, Send

from . import metrics
from .breaker import BadGateway, BodyTooLarge, UpstreamTimeout, UpstreamUnavailable
from .rawhttp import Conn, ConnectFailed, Pool, ProtocolError, ReadTimeout, StaleConnection
from .settings import GatewaySettings
from .upstream import IDEMPOTENT, SMALL_BODY, BodyCounter, ClientGone, Headers, Upstream, response_headers


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
        self.retries = settings.retries
        self.backoff = settings.retry_backoff_s

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self.pool.close()

    def _fail(self, outcome: str) -> None:
        self.breaker.failure()
        metrics.observe_upstream(self.name, outcome)

    async def _exchange(
        self, method: str, head: bytes, body: BodyCounter | None, chunked: bool, replayable: bool
    ) -> tuple[Conn, int, list[tuple[bytes, bytes]], int | None, bool, bool]:
        attempts = 1 + self.retries if replayable else 1
        for attempt in range(attempts):
            try:
                conn, reused = await self.pool.acquire()
            except ConnectFailed as exc:
                if attempt + 1 < attempts and (body is None or not body.started):
                    await asyncio.sleep(self.backoff * (attempt + 1))
                    continue
                self._fail("unavailable")
                raise UpstreamUnavailable(self.name, f"{self.name} is not reachable") from exc
            try:
                early = False
                try:
                    await conn.write(head)
                    if body is not None:
                        await _send_body(conn, body, chunked)
                except (ProtocolError, OSError):
                    if not conn.buf:
                        raise
                    early = True  # the upstream answered (e.g. 413) and stopped reading: relay its answer
                status, headers, length, is_chunked, keep_alive = await conn.read_head(method)
                return conn, status, headers, length, is_chunked, keep_alive and not early
            except StaleConnection as exc:
                self.pool.release(conn, False)
                if reused and attempt + 1 < attempts and (body is None or not body.started):
                    continue  # the upstream closed an idle connection as we reused it
                self._fail("bad_gateway")
                raise BadGateway(self.name, f"{self.name} closed the connection") from exc
            except ReadTimeout as exc:
                self.pool.release(conn, False)
                self._fail("timeout")
                raise UpstreamTimeout(self.name, f"{self.name} did not answer in time") from exc
            except (BodyTooLarge, ClientGone, asyncio.CancelledError):
                self.pool.release(conn, False)
                raise
            except (ProtocolError, OSError) as exc:
                self.pool.release(conn, False)
                self._fail("bad_gateway")
                raise BadGateway(self.name, f"{self.name} gave an invalid response") from exc
        raise AssertionError("unreachable")

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
    ) -> int:
        self.check_breaker()
        method: str = scope["method"]
        qs = scope.get("query_string") or b""
        raw_path = scope.get("raw_path") or scope["path"].encode()
        target = raw_path + b"?" + qs if qs else raw_path
        chunked = body is not None and not any(k == b"content-length" for k, _ in headers)
        replayable = method in IDEMPOTENT or any(k == b"idempotency-key" for k, _ in headers)
        start = time.perf_counter()
        conn, status, rheaders, length, is_chunked, keep_alive = await self._exchange(
            method, self._head(method, target, headers, chunked), body, chunked, replayable
        )
        ok = False
        try:
            metrics.observe_upstream(self.name, str(status), time.perf_counter() - start)
            out = response_headers(rheaders, extra)
            if length is not None and length <= SMALL_BODY:
                try:
                    data = await conn.read_exact(length)
                except ReadTimeout as exc:
                    self._fail("timeout")
                    raise UpstreamTimeout(self.name, f"{self.name} did not answer in time") from exc
                except ProtocolError as exc:
                    self._fail("bad_gateway")
                    raise BadGateway(self.name, f"{self.name} gave an invalid response") from exc
                await send({"type": "http.response.start", "status": status, "headers": out})
                await send({"type": "http.response.body", "body": data})
            else:
                await send({"type": "http.response.start", "status": status, "headers": out})
                async for chunk in conn.iter_body(length, is_chunked):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            ok = True
        finally:
            self.pool.release(conn, ok and keep_alive)
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
            conn, status, _, length, is_chunked, keep_alive = await self._exchange(
                method, head, None, False, method in IDEMPOTENT
            )
            ok = False
            try:
                data = b"".join([c async for c in conn.iter_body(length, is_chunked)])
                ok = True
            except (ProtocolError, ReadTimeout) as exc:
                self._fail("bad_gateway")
                raise BadGateway(self.name, f"{self.name} gave an invalid response") from exc
            finally:
                self.pool.release(conn, ok and keep_alive)
            return status, data

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
