"""Gateway-local endpoints: /healthz, /readyz (aggregated), /metrics, /openapi.json, the pages `/`, /docs and
/redoc with their packaged assets; CORS preflight."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import Receive, Scope, Send

from . import docs as pages
from .openapi import OpenApiAggregator
from .settings import GatewaySettings
from .tokens import JwtVerifier
from .upstream import Upstream

log = logging.getLogger("hhpu.gateway.ops")
Extra = list[tuple[bytes, bytes]]
Local = Callable[[Scope, Receive, Send, Extra], Awaitable[int]]
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
LOCAL_METHODS = frozenset({"GET", "HEAD"})  # the gateway's own endpoints; anything else: 405 + Allow


async def respond(send: Send, status: int, body: bytes, ctype: bytes, extra: Extra) -> int:
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


class Operations:
    def __init__(self, settings: GatewaySettings, upstreams: dict[str, Upstream], jwt: JwtVerifier) -> None:
        self.settings = settings
        self.upstreams = upstreams
        self.jwt = jwt
        self.openapi = OpenApiAggregator(upstreams, settings.openapi_cache_s)
        self._jwks_fetched = 0.0
        self.local: dict[str, Local] = {
            "/healthz": self.healthz,
            "/readyz": self.readyz,
            "/metrics": self.metrics,
            "/openapi.json": self.openapi_json,
            "/": self.page(pages.index_page),
            "/docs": self.page(pages.swagger_page),
            "/redoc": self.page(pages.redoc_page),
            **dict.fromkeys(pages.ASSET_PATHS, self.asset),
        }
        self.cors_methods = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

    async def startup(self) -> None:
        if self.settings.jwt_jwks_url:
            await self.refresh_jwks(force=True)

    async def shutdown(self) -> None:
        return None

    async def refresh_jwks(self, force: bool = False) -> bool:
        """Fetch the identity provider's JWKS (at most every 60 s unless forced)."""
        url = self.settings.jwt_jwks_url
        if not url or (not force and time.monotonic() - self._jwks_fetched < 60):
            return False
        self._jwks_fetched = time.monotonic()
        try:
            if url.startswith("file://"):
                doc = json.loads(Path(url[7:]).read_text())
            else:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as s:
                    async with s.get(url) as resp:
                        resp.raise_for_status()
                        doc = await resp.json(content_type=None)
            self.jwt.load_jwks(doc)
            return True
        except Exception as exc:
            log.warning("JWKS fetch failed", extra={"error": type(exc).__name__})
            return False

    async def healthz(self, scope: Scope, receive: Receive, send: Send, extra: Extra) -> int:
        return await respond(send, 200, b'{"status":"ok"}', b"application/json", extra)

    async def readyz(self, scope: Scope, receive: Receive, send: Send, extra: Extra) -> int:
        timeout = self.settings.readyz_timeout_s

        async def check(up: Upstream) -> str:
            try:
                status, data = await up.call("GET", "/readyz", {}, timeout=timeout)
            except Exception as exc:
                return getattr(exc, "code", None) or "unreachable"
            if status != 200:
                return f"status_{status}"
            return "degraded" if _says_degraded(data) else "ok"

        names = list(self.upstreams)
        results = await asyncio.gather(*(check(self.upstreams[n]) for n in names))
        checks = dict(zip(names, results, strict=True))
        ok = all(v in ("ok", "degraded") for v in checks.values())
        state = "unavailable" if not ok else "degraded" if "degraded" in results else "ok"
        body = json.dumps({"status": state, "checks": checks}).encode()
        if not ok:
            extra = [*extra, (b"retry-after", b"1")]  # every 503 says when to try again
        return await respond(send, 200 if ok else 503, body, b"application/json", extra)

    async def metrics(self, scope: Scope, receive: Receive, send: Send, extra: Extra) -> int:
        return await respond(send, 200, generate_latest(), CONTENT_TYPE_LATEST.encode(), extra)

    async def openapi_json(self, scope: Scope, receive: Receive, send: Send, extra: Extra) -> int:
        doc = await self.openapi.document()
        return await respond(send, 200, doc, b"application/json", extra)

    def page(self, render: Callable[[str], tuple[str, str]]) -> Local:
        """An HTML page with its own nonce and Content-Security-Policy in place of the API one."""

        async def serve(scope: Scope, receive: Receive, send: Send, extra: Extra) -> int:
            page, csp = render(secrets.token_urlsafe(16))
            headers = [h for h in extra if h[0] != API_CSP[0]] + [(b"content-security-policy", csp.encode())]
            return await respond(send, 200, page.encode(), b"text/html; charset=utf-8", headers)

        return serve

    async def asset(self, scope: Scope, receive: Receive, send: Send, extra: Extra) -> int:
        found = pages.asset(scope["path"].removeprefix(pages.ASSET_PREFIX))
        if found is None:  # pragma: no cover - only listed paths are routed here
            return await respond(send, 404, b"", b"text/plain", extra)
        headers = [h for h in extra if h[0] != b"cache-control"]
        headers.append((b"cache-control", b"public, max-age=86400"))
        return await respond(send, 200, found.body, found.content_type, headers)

    async def preflight(self, send: Send, extra: Extra, allowed: bool) -> int:
        headers = list(extra)
        if allowed:
            headers += [
                (b"access-control-allow-methods", self.cors_methods),
                (b"access-control-allow-headers", b"Authorization, X-API-Key, Content-Type, X-Request-ID"),
                (b"access-control-max-age", b"600"),
            ]
        return await respond(send, 204, b"", b"text/plain", headers)


def _says_degraded(body: bytes) -> bool:
    """A service's readiness answer says it serves without a dependency it can wait for (the broker)."""
    try:
        return bool(json.loads(body).get("status") == "degraded")
    except (ValueError, AttributeError):
        return False
