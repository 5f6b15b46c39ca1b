"""Test helpers shared by the gateway's tests (and usable by the lead's end-to-end tests).

A real echo upstream (ASGI app, optionally served by uvicorn on 127.0.0.1), a fake key store,
and token helpers. Nothing here is used by the running gateway.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any, Literal

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from .keys import AgencyKey
from .routes import prefixes_of
from .settings import GatewaySettings
from .tokens import mint_dev_token


def make_echo(service: str, *, delay_s: float = 0.0) -> ASGIApp:
    """A tiny upstream that answers with what it received (method, path, identity, body size)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    scope["state"]["started"] = True
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"].endswith("/early"):  # answers without reading the request body
            await send({"type": "http.response.start", "status": 413, "headers": [(b"content-length", b"5")]})
            await send({"type": "http.response.body", "body": b"early"})
            return
        body = b""
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        path = scope["path"]
        if path == "/slow" or delay_s:
            await asyncio.sleep(delay_s or 2.0)
        if path.endswith("/big"):  # a streamed body without content-length (chunked on the wire)
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
            )
            for i in range(4):
                await send(
                    {"type": "http.response.body", "body": bytes([65 + i]) * 50_000, "more_body": True}
                )
            await send({"type": "http.response.body", "body": b""})
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if path == "/readyz":
            out: dict[str, Any] = {"status": "ok"}
        elif path == "/openapi.json":
            out = {
                "openapi": "3.1.0",
                "info": {"title": service, "version": "1"},
                "paths": {
                    **{
                        p: {"get": {"operationId": "list", "summary": f"List {p}"}}
                        for p in prefixes_of(service)
                    },
                    "/internal/v1/secret": {"post": {"summary": "never published"}},
                },
                "components": {"schemas": {"Page": {"type": "object", "title": service}}},
            }
        else:
            out = {
                "service": service,
                "method": scope["method"],
                "path": path,
                "query": scope["query_string"].decode(),
                "identity": headers.get("x-hhpu-identity"),
                "header_names": sorted(headers),
                "request_id": headers.get("x-request-id"),
                "body_len": len(body),
                "started": scope.get("state", {}).get("started", False),
            }
        data = json.dumps(out).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    return app


class FakeKeyStore:
    """Stands in for the referral-api's key table; counts verifications to show caching."""

    def __init__(self) -> None:
        self.keys: dict[str, AgencyKey] = {}
        self.calls = 0

    def add(
        self,
        key: str,
        agency_id: str = "agency-1",
        key_id: str = "k1",
        scopes: tuple[str, ...] = ("referrals:read", "referrals:write"),
    ) -> str:
        self.keys[key] = AgencyKey(key_id, agency_id, "Test Agency", scopes)
        return key

    def revoke(self, key: str) -> None:
        self.keys.pop(key, None)

    async def verify(self, key: str) -> AgencyKey | None:
        self.calls += 1
        return self.keys.get(key)


def settings(**kw: Any) -> GatewaySettings:
    base: dict[str, Any] = {"environment": "development", "rate_limit_per_s": 0, "access_log": True}
    base.update(kw)
    return GatewaySettings(**base)


def bearer(*roles: str, sub: str = "u1", **kw: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + mint_dev_token(sub, roles, **kw)}


class ServerThread:
    """A real uvicorn server on 127.0.0.1 (random port) in a thread; stopped via should_exit."""

    def __init__(self, app: Any, lifespan: Literal["auto", "on", "off"] = "off", **config: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan, **config))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test upstream did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def jwks_app(doc: dict[str, Any]) -> ASGIApp:
    """A tiny identity provider endpoint serving a JWKS document at any path."""
    body = json.dumps(doc).encode()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app
