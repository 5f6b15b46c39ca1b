"""Single-process mode: the service's ASGI app is called directly, with the same headers and identity."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .breaker import BadGateway, BodyTooLarge, UpstreamTimeout
from .lifespan import AsgiLifespan
from .settings import GatewaySettings
from .upstream import BodyCounter, Headers, Upstream, response_headers

log = logging.getLogger("hhpu.gateway.upstream")


class AsgiUpstream(Upstream):
    """Single-process mode: call the service's ASGI app directly with the same headers and identity."""

    def __init__(self, name: str, app: ASGIApp, settings: GatewaySettings) -> None:
        super().__init__(name, settings)
        self.app = app
        self.lifespan = AsgiLifespan(app, name) if settings.manage_asgi_lifespans else None

    async def start(self) -> None:
        if self.lifespan is not None:
            await self.lifespan.startup()

    async def close(self) -> None:
        if self.lifespan is not None:
            await self.lifespan.shutdown()

    def _state(self) -> dict[str, Any]:
        return dict(self.lifespan.state) if self.lifespan is not None else {}

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
        sub = dict(scope)
        sub["headers"] = headers
        sub["state"] = self._state()
        status = 0
        start = time.perf_counter()

        async def recv() -> Message:
            msg = await receive()
            if body is not None and msg["type"] == "http.request":
                body.seen += len(msg.get("body", b""))
                if body.seen > body.limit:
                    body.overflow = True
                    return {"type": "http.disconnect"}
            return msg

        async def snd(msg: Message) -> None:
            nonlocal status
            if body is not None and body.overflow:
                return  # the gateway answers 413 instead
            if msg["type"] == "http.response.start":
                status = msg["status"]
                tm.reschedule(None)
                metrics.observe_upstream(self.name, str(status), time.perf_counter() - start)
                msg = {**msg, "headers": response_headers(msg.get("headers", ()), extra)}
            await send(msg)

        try:
            async with asyncio.timeout(self.read_timeout) as tm:
                await self.app(sub, recv, snd)
        except TimeoutError as exc:
            if status:
                raise
            self.breaker.failure()
            metrics.observe_upstream(self.name, "timeout")
            raise UpstreamTimeout(self.name, f"{self.name} did not answer in time") from exc
        except Exception as exc:
            if body is not None and body.overflow:
                raise BodyTooLarge() from exc
            if status:
                raise
            log.exception("in-process upstream failed", extra={"upstream": self.name})
            self.breaker.failure()
            metrics.observe_upstream(self.name, "bad_gateway")
            raise BadGateway(self.name, f"{self.name} failed") from exc
        if body is not None and body.overflow:
            raise BodyTooLarge()
        self.breaker.success()
        return status

    async def call(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None, timeout: float = 5.0
    ) -> tuple[int, bytes]:
        self.check_breaker()
        try:
            status, data = await asyncio.wait_for(
                asgi_request(self.app, method, path, headers, body, self._state()), timeout
            )
        except TimeoutError as exc:
            self.breaker.failure()
            metrics.observe_upstream(self.name, "timeout")
            raise UpstreamTimeout(self.name, f"{self.name} did not answer in time") from exc
        self.breaker.success()
        return status, data


async def asgi_request(
    app: ASGIApp, method: str, path: str, headers: dict[str, str], body: bytes | None, state: dict[str, Any]
) -> tuple[int, bytes]:
    """One request to an ASGI app in-process, collected in memory."""
    path_only, _, qs = path.partition("?")
    hdrs = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if body is not None:
        hdrs.append((b"content-length", str(len(body)).encode()))
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path_only,
        "raw_path": path_only.encode(),
        "query_string": qs.encode(),
        "root_path": "",
        "headers": [(b"host", b"gateway.internal"), *hdrs],
        "client": ("127.0.0.1", 0),
        "server": ("gateway.internal", 80),
        "state": state,
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # no more input; wait to be cancelled
        sent = True
        return {"type": "http.request", "body": body or b"", "more_body": False}

    async def send(msg: Message) -> None:
        nonlocal status
        if msg["type"] == "http.response.start":
            status = msg["status"]
        elif msg["type"] == "http.response.body":
            chunks.append(msg.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)
