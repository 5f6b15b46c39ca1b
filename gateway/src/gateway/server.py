"""The gateway's server side: uvicorn with httptools (llhttp), plus limits on the request head.

What uvicorn offers was checked first: ``h11_max_incomplete_event_size`` bounds the head only for the h11
implementation, ``timeout_keep_alive`` only the idle time between requests, ``limit_concurrency`` the
connections and tasks; with httptools nothing bounds the size or count of headers or the time to send a
head, and llhttp has no such limits either. So ``GuardedHttpToolsProtocol`` (uvicorn's own protocol,
subclassed; parsing stays llhttp's) adds, per connection:

- a timer for the request head: started when the connection opens or a request begins, cancelled when the
  head is complete (slowloris: 408 problem and close; a connection that sent nothing is just closed);
- header count, total head size (counted as bytes arrive, so a 10 MB header is cut off after the limit,
  not buffered) and per-line size (request target: 414; header: 431), each answered with problem+json
  and the connection closed;
- problem+json instead of uvicorn's plain-text 400 (malformed request) and 503 (concurrency limit).

``uvicorn_options(settings)`` gives every uvicorn option the gateway needs (also the trusted proxies:
``X-Forwarded-For`` only from ``GATEWAY_FORWARDED_ALLOW_IPS``, never from loopback by default). Use it
wherever the gateway is served: ``python -m gateway`` does, single-process mode should.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .settings import GatewaySettings

log = logging.getLogger("hhpu.gateway.server")
PROBLEM = b"application/problem+json"


@dataclass(frozen=True)
class HeadLimits:
    max_headers: int = 100
    max_head: int = 32_768
    max_line: int = 8192
    timeout_s: float = 10.0


class _Refused(Exception):
    def __init__(self, status: int, title: str, detail: str, code: str) -> None:
        super().__init__(detail)
        self.args4 = (status, title, detail, code)


def problem_body(status: int, title: str, detail: str, code: str) -> bytes:
    doc = {"type": f"urn:hhpu:problem:{code}", "title": title, "status": status, "code": code}
    if detail:
        doc["detail"] = detail
    return json.dumps(doc).encode()


async def _unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    body = problem_body(503, "Service unavailable", "too many concurrent requests", "overloaded")
    headers = [
        (b"content-type", PROBLEM),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"retry-after", b"1"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    limits: ClassVar[HeadLimits] = HeadLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._concurrency = self.limit_concurrency
        self.limit_concurrency = None  # checked here, answered with problem+json
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_deadline = 0.0
        self._in_head = True
        self._began = False
        self._head_fed = 0
        self._head_size = 0
        self._header_count = 0
        self._url_size = 0

    # -- connection
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self.parser is None:
            return
        if self._in_head:
            self._head_fed += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            refused = exc.__context__
            if isinstance(refused, _Refused):
                self._refuse(*refused.args4)
            else:
                self._refuse(400, "Bad request", "malformed HTTP request", "bad_request")
            return
        if self._in_head and self._head_fed > self.limits.max_head:
            self._refuse(431, "Request header fields too large", "request head too large", "head_too_large")

    # -- the head timer
    def _start_head_timer(self) -> None:
        """The head must be complete by the deadline. One timer per connection at a time, not one per
        request: when it fires early (a later request moved the deadline) it is set again."""
        self._head_deadline = self.loop.time() + self.limits.timeout_s
        if self._head_timer is None:
            self._head_timer = self.loop.call_at(self._head_deadline, self._head_timeout)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if not self._in_head or self.transport.is_closing():
            return  # the next request's first byte sets a timer again
        if self.loop.time() < self._head_deadline:
            self._head_timer = self.loop.call_at(self._head_deadline, self._head_timeout)
            return
        if not self._began:
            self.transport.close()  # opened and never sent anything
            return
        self._refuse(408, "Request timeout", "request head not received in time", "head_timeout")

    def _refuse(self, status: int, title: str, detail: str, code: str) -> None:
        self._stop_head_timer()
        if self.transport.is_closing():
            return
        log.warning("request refused by the server", extra={"status": status, "code": code})
        busy = self.cycle is not None and not self.cycle.response_complete
        if not busy:  # never interleave with a response still being written
            body = problem_body(status, title, detail, code)
            head = [b"HTTP/1.1 %d %s\r\n" % (status, title.encode())]
            for name, value in self.server_state.default_headers:
                head += [name, b": ", value, b"\r\n"]
            head.append(b"content-type: %s\r\ncontent-length: %d\r\n" % (PROBLEM, len(body)))
            head.append(b"cache-control: no-store\r\nconnection: close\r\n\r\n")
            self.transport.write(b"".join(head) + body)
        self.transport.close()

    # -- parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._began = True
        self._in_head = True
        self._head_size = self._header_count = self._url_size = 0
        self._start_head_timer()

    def on_url(self, url: bytes) -> None:
        self._url_size += len(url)
        if self._url_size > self.limits.max_line:
            raise _Refused(414, "URI too long", "request target too long", "uri_too_long")
        self.url += url  # as HttpToolsProtocol.on_url

    def on_header(self, name: bytes, value: bytes) -> None:
        line = len(name) + len(value) + 4
        self._head_size += line
        self._header_count += 1
        if line > self.limits.max_line:
            raise _Refused(431, "Request header fields too large", "header line too long", "header_too_large")
        if self._header_count > self.limits.max_headers:
            raise _Refused(431, "Request header fields too large", "too many headers", "too_many_headers")
        if self._head_size + self._url_size > self.limits.max_head:
            raise _Refused(431, "Request header fields too large", "request head too large", "head_too_large")
        name = name.lower()  # as HttpToolsProtocol.on_header, without a second call per header
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False  # the timer, if still set, finds nothing to do
        limit = self._concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            app, self.app = self.app, _unavailable
            try:
                super().on_headers_complete()
            finally:
                self.app = app
            return
        super().on_headers_complete()


def head_limits(settings: GatewaySettings) -> HeadLimits:
    return HeadLimits(
        max_headers=settings.max_header_count,
        max_head=settings.max_head_bytes,
        max_line=settings.max_line_bytes,
        timeout_s=settings.head_timeout_s,
    )


def guarded_protocol(settings: GatewaySettings) -> type[GuardedHttpToolsProtocol]:
    """The protocol class with the settings' head limits."""
    return type("GatewayHttpProtocol", (GuardedHttpToolsProtocol,), {"limits": head_limits(settings)})


class GatewayHttpProtocol(GuardedHttpToolsProtocol):
    """For the uvicorn command line: ``--http gateway.server:GatewayHttpProtocol`` (or ``UVICORN_HTTP``);
    the limits come from the ``GATEWAY_*`` environment, read once."""

    _configured: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        if not cls._configured:
            cls.limits = head_limits(GatewaySettings())
            cls._configured = True
        super().__init__(*args, **kwargs)


def uvicorn_options(settings: GatewaySettings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config``/``uvicorn.run`` serving the gateway (not host/port/app)."""
    return {
        "http": guarded_protocol(settings),
        "ws": "none",
        "timeout_keep_alive": settings.keep_alive_s,
        "limit_concurrency": settings.limit_concurrency or None,
        "h11_max_incomplete_event_size": settings.max_head_bytes,  # if h11 is ever chosen instead
        # client addresses (rate limits of unauthenticated callers) from X-Forwarded-For only behind the
        # proxies listed in GATEWAY_FORWARDED_ALLOW_IPS; uvicorn would otherwise trust loopback
        "proxy_headers": bool(settings.forwarded_allow_ips),
        "forwarded_allow_ips": settings.forwarded_allow_ips or "",
        "server_header": False,
        "access_log": False,  # the gateway writes its own access log (route templates, no query strings)
    }
