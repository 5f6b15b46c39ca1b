"""The gateway's HTTP/1.1 keep-alive client for its own upstream services; responses parsed by llhttp.

Why not aiohttp: on the benchmark machine aiohttp's client costs ~140 µs of CPU per proxied request and
this one ~40 µs; the client was the largest single cost in the gateway. Response parsing is httptools'
``HttpResponseParser`` (llhttp, the parser that also reads the gateway's requests), strict, with no
leniency switched on. On top of it this module enforces what a proxy needs:

- framing: ``Transfer-Encoding`` must be exactly ``chunked`` (``xchunked``, ``gzip, chunked`` are refused),
  Content-Length with Transfer-Encoding, bad chunk sizes, bare LF and control characters are refused by
  llhttp; the status must be 100-599 and the version HTTP/1.0 or 1.1; the head is bounded (size, count);
- reuse: a connection goes back to the pool only after one complete, well-framed response with nothing
  after it; any byte that is not part of the response being read (an extra response, a body on a 204/304,
  data that arrives while the connection is idle) marks it dirty and it is closed. Responses to HEAD,
  204 and 304 (where a misbehaving upstream sends a body late) and bodies "until close" are never reused
  either. Before a pooled connection is reused the socket is peeked (no unread byte, not at EOF) so
  bytes still in the kernel are seen too. What no HTTP/1.1 client can tell apart: an upstream that sends
  an unasked-for response only after the connection was reused, when the next request is already out;
  that needs a deliberately broken upstream, and the services are our own.

Everything else: one request per connection at a time, request bodies streamed (Content-Length or
chunked), idle connections dropped before the upstream's keep-alive timeout (uvicorn: 5 s), one timer
per wait for the read timeout, reading paused while a slow client lets the response body pile up.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator

import httptools

MAX_HEAD = 65536
MAX_HEADERS = 100
HIGH_WATER = 262_144  # buffered response body bytes before reading from the upstream is paused
NO_BODY_STATUS = frozenset({204, 304})
_PEEK = socket.MSG_PEEK | socket.MSG_DONTWAIT
_PARSER_ERRORS = (httptools.HttpParserError, httptools.HttpParserUpgrade)


class ConnectFailed(Exception):
    """The upstream could not be reached (refused, unreachable, connect timeout): nothing was sent."""


class NotSent(ConnectFailed):
    """The connection was found closed before any byte of the request was written."""


class ReadTimeout(Exception):
    pass


class ProtocolError(Exception):
    """The upstream broke HTTP/1.1 or closed the connection mid-response."""


class StaleConnection(ProtocolError):
    """The connection closed after the request was written and before any response byte arrived."""


class Conn(asyncio.Protocol):
    """One upstream connection; llhttp callbacks fill in the response being read."""

    def __init__(self, read_timeout: float) -> None:
        self.read_timeout = read_timeout
        self.transport: asyncio.Transport | None = None
        self.peeker: socket.socket | None = None  # a duplicate of the connection's socket, for peeking
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[None] | None = None
        self.drainer: asyncio.Future[None] | None = None
        self.closed = False
        self.paused = False
        self.reading_paused = False
        self.idle_since = 0.0
        self.dirty = False  # bytes outside an expected response arrived: never reuse
        self.begin(False)
        self.expecting = False

    def begin(self, head_only: bool) -> None:
        """Reset the per-exchange state; called before the request is written."""
        self.expecting = True
        self.head_only = head_only
        self.sent = False
        self.received = False
        self.head_fed = 0
        self.head_size = 0
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.length: int | None = None
        self.chunked = False
        self.head_done = False
        self.done = False
        self.keep_alive = False
        self.body: list[bytes] = []
        self.buffered = 0
        self.error: str | None = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            self.peeker = socket.socket(sock.family, socket.SOCK_STREAM, 0, os.dup(sock.fileno()))

    def data_received(self, data: bytes) -> None:
        if not self.expecting or self.done:
            self.dirty = True  # nobody asked for these bytes: the connection is out of step
            return
        self.received = True
        if not self.head_done:
            self.head_fed += len(data)
        try:
            self.parser.feed_data(data)
        except _PARSER_ERRORS as exc:
            if self.done:
                self.dirty = True  # bytes after the complete response (an extra response, a 204 body)
            elif self.error is None:
                cause = exc.__context__ if isinstance(exc, httptools.HttpParserCallbackError) else exc
                self.error = str(cause) or type(cause).__name__
        if not self.head_done and self.head_fed > MAX_HEAD and self.error is None:
            self.error = "response head too large"
        if self.buffered > HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.peeker is not None:
            self.peeker.close()
            self.peeker = None
        if self.head_done and not self.done and not self.chunked and self.length is None and not self.error:
            self.done = True  # a body delimited by the end of the connection (never reused)
        self._wake()
        if self.drainer is not None and not self.drainer.done():
            self.drainer.set_result(None)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.drainer is not None and not self.drainer.done():
            self.drainer.set_result(None)

    # -- llhttp callbacks
    def on_message_begin(self) -> None:
        if self.done or not self.expecting:
            raise ProtocolError("unexpected response")
        self.headers = []  # a final response after an interim (1xx) one starts afresh
        self.length = None
        self.chunked = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_size += len(name) + len(value) + 4
        if self.head_size > MAX_HEAD or len(self.headers) >= MAX_HEADERS:
            raise ProtocolError("response head too large")
        if self.head_done:
            return  # a trailer: counted, not forwarded
        name = name.lower()
        if name == b"transfer-encoding":
            if self.chunked or value.strip().lower() != b"chunked":
                raise ProtocolError("unsupported transfer-encoding")
            self.chunked = True
        elif name == b"content-length":
            self.length = int(value)  # llhttp has checked the digits and refused duplicates
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        p = self.parser
        status = p.get_status_code()
        if not 100 <= status <= 599:
            raise ProtocolError("status out of range")
        if p.get_http_version() not in ("1.1", "1.0"):
            raise ProtocolError("unsupported HTTP version")
        if status < 200:
            if status == 101:
                raise ProtocolError("unexpected protocol switch")
            return  # interim response (100 Continue): llhttp ends it here, the final one follows
        self.status = status
        self.head_done = True
        self.keep_alive = p.should_keep_alive()
        if self.head_only:
            self.done = True  # a HEAD response ends with its head; the connection is not reused
            self.keep_alive = False
        elif status in NO_BODY_STATUS:
            self.keep_alive = False  # where a late body would land in the next response: never reused
        elif not self.chunked and self.length is None and status not in NO_BODY_STATUS:
            self.keep_alive = False  # body until the upstream closes

    def on_body(self, body: bytes) -> None:
        if self.head_only:
            self.dirty = True
            return
        self.body.append(body)
        self.buffered += len(body)

    def on_message_complete(self) -> None:
        if self.head_done:
            self.done = True

    # -- helpers
    def _wake(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_result(None)

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        if self.peeker is not None:  # the duplicate would keep the connection open
            self.peeker.close()
            self.peeker = None

    def quiet(self) -> bool:
        """True when the idle connection has nothing unread and is not at EOF (peeks the socket)."""
        if self.closed or self.dirty or self.peeker is None:
            return False
        try:
            self.peeker.recv(1, _PEEK)
        except BlockingIOError:
            return True
        except OSError:
            return False
        return False  # a byte is waiting, or the upstream closed

    def reusable(self) -> bool:
        return self.done and self.keep_alive and not self.dirty and not self.closed and not self.error

    def _on_timeout(self) -> None:
        w = self.waiter
        if w is not None and not w.done():
            w.set_exception(ReadTimeout())

    async def _more(self) -> None:
        """Wait for parser progress (or close); raises ReadTimeout."""
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        timer = loop.call_later(self.read_timeout, self._on_timeout)
        try:
            await self.waiter
        finally:
            timer.cancel()
            self.waiter = None

    async def write(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            if not self.sent:
                raise NotSent("connection closed before the request was sent")
            raise ProtocolError("connection closed while sending")
        self.sent = True
        self.transport.write(data)
        if self.paused:
            self.drainer = asyncio.get_running_loop().create_future()
            await self.drainer
            self.drainer = None

    # -- response
    async def read_head(self) -> tuple[int, list[tuple[bytes, bytes]]]:
        """Wait for the final response head: (status, headers with lower-case names)."""
        while not self.head_done:
            if self.error is not None:
                raise ProtocolError(self.error)
            if self.closed:
                raise (ProtocolError if self.received else StaleConnection)("closed before the response")
            await self._more()
        return self.status, self.headers

    def take(self) -> bytes:
        data = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body.clear()
        self.buffered = 0
        if self.reading_paused and self.transport is not None and not self.closed:
            self.reading_paused = False
            self.transport.resume_reading()
        return data

    async def prefetch(self, limit: int) -> bool:
        """Wait until the response is complete (True) or `limit` body bytes are buffered (False); raises
        if the framing breaks first, so a small response is either whole and well framed or a 502."""
        while not self.done and self.buffered < limit:
            if self.error is not None:
                raise ProtocolError(self.error)
            if self.closed:
                raise ProtocolError("closed mid-body")
            await self._more()
        if self.error is not None:
            raise ProtocolError(self.error)
        return self.done

    async def read_body(self) -> bytes:
        """The whole body (internal calls; small answers)."""
        if not await self.prefetch(1 << 62):
            raise ProtocolError("response incomplete")
        return self.take()

    async def iter_body(self) -> AsyncIterator[bytes]:
        while True:
            if self.error is not None:
                raise ProtocolError(self.error)
            if self.body:
                yield self.take()
                continue
            if self.done:
                return
            if self.closed:
                raise ProtocolError("closed mid-body")
            await self._more()


class Pool:
    """Keep-alive connections to one host:port, reused LIFO, at most `limit` open at once."""

    def __init__(
        self,
        host: str,
        port: int,
        limit: int,
        connect_timeout: float,
        read_timeout: float,
        idle_s: float = 4.0,
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.idle_s = idle_s
        self.idle: list[Conn] = []
        self.sem = asyncio.Semaphore(limit)

    async def acquire(self, head_only: bool = False) -> tuple[Conn, bool]:
        """A connection ready for one request (reused when a clean idle one exists)."""
        await self.sem.acquire()
        now = time.monotonic()
        while self.idle:
            c = self.idle.pop()
            if now - c.idle_since < self.idle_s and c.quiet():
                c.begin(head_only)
                return c, True
            c.abort()
        try:
            loop = asyncio.get_running_loop()
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: Conn(self.read_timeout), self.host, self.port),
                self.connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            self.sem.release()
            raise ConnectFailed(str(exc) or type(exc).__name__) from exc
        except BaseException:
            self.sem.release()
            raise
        conn.begin(head_only)
        return conn, False

    def release(self, conn: Conn, reusable: bool) -> None:
        self.sem.release()
        if reusable and conn.reusable():
            conn.expecting = False
            conn.idle_since = time.monotonic()
            self.idle.append(conn)
        else:
            conn.abort()

    def close(self) -> None:
        for c in self.idle:
            c.abort()
        self.idle.clear()
