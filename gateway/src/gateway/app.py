"""The gateway: one pure-ASGI app (no BaseHTTPMiddleware) so the per-request path stays short.

Order per request: local endpoints (405 + Allow for other methods) -> CORS preflight -> route (404) ->
size (413) -> authenticate (401) -> rate limit (429) -> policy (403) -> forward with a fresh identity
assertion bound to the method and path. Every answer carries `Cache-Control: no-store` and a
Content-Security-Policy; the status recorded in metrics and the access log is the one actually sent.
Anything unexpected before the response started is a 500 problem+json, never uvicorn's plain text.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from typing import Any

from hhpu_shared import heap
from hhpu_shared.auth import IDENTITY_HEADER, Principal
from hhpu_shared.context import request_id_var
from hhpu_shared.errors import problem
from hhpu_shared.logging import configure_logging
from starlette.types import ASGIApp, Receive, Scope, Send

from . import metrics, policy
from .accesslog import AccessLog
from .auth import Authenticator, AuthError
from .breaker import BodyTooLarge, ResponseBroken, UpstreamError
from .fanout import FANOUT_PATHS, FanOut
from .headers import DROP_REQUEST, READ_METHODS, RETRY_AFTER_S, RID, SECURITY_HEADERS
from .identity import IdentityMinter
from .keys import CachingKeyVerifier, KeyServiceError, KeyVerifier, UpstreamKeyVerifier
from .limits import RateLimiter
from .ops import LOCAL_METHODS, Operations
from .routes import IDEMPOTENT_ROUTES, KEY_SERVICE, SERVICES, path_is_safe, resolve, resource_of
from .settings import GatewaySettings
from .tokens import JwtVerifier
from .upstream import BodyCounter, ClientGone, HttpUpstream, Upstream
from .upstream_asgi import AsgiUpstream
from .upstream_raw import RawHttpUpstream

log = logging.getLogger("hhpu.gateway")


class Gateway:
    def __init__(self, settings: GatewaySettings, upstreams: dict[str, Upstream], keys: KeyVerifier) -> None:
        self.settings = settings
        self.upstreams = upstreams
        self.minter = IdentityMinter(settings.internal_secret, settings.identity_ttl_s)
        self.keys = CachingKeyVerifier(keys, settings.key_cache_ttl_s)
        self.jwt = JwtVerifier(settings)
        self.auth = Authenticator(self.jwt, self.keys)
        self.limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
        self.ops = Operations(settings, upstreams, self.jwt)
        self.fanout = FanOut(upstreams, self.minter)
        self.auth.refresh_jwks = self.ops.refresh_jwks
        self.cors_origins = frozenset(o.encode() for o in settings.cors_origins)
        self.cors_any = b"*" in self.cors_origins
        self.max_body = settings.max_body_bytes
        self.access = AccessLog(settings.service_name) if settings.access_log else None
        # request ids: a random per-process prefix and a counter (unique, no syscall per request)
        self._rid_prefix = secrets.token_hex(6)
        self._rid_counter = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        else:
            await send({"type": "websocket.close", "code": 1008})

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("gateway startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        self.settings.check_production()
        for up in self.upstreams.values():
            await up.start()
        await self.ops.startup()
        if self.access is not None:
            self.access.start()
        heap.settle()  # the gateway's and, in one process, every service's start-up objects

    async def shutdown(self) -> None:
        if self.access is not None:
            await self.access.stop()
        await self.ops.shutdown()
        for up in self.upstreams.values():
            await up.close()

    def _cors(self, origin: bytes | None) -> list[tuple[bytes, bytes]]:
        if origin is None or not (self.cors_any or origin in self.cors_origins):
            return []
        return [
            (b"access-control-allow-origin", origin),
            (b"vary", b"Origin"),
            (b"access-control-expose-headers", b"X-Request-ID, Retry-After"),
        ]

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        rid = origin = api_key = authz = clen = preflight = None
        chunked = False
        hop: bytes | None = None
        fwd: list[tuple[bytes, bytes]] = []
        for k, v in scope["headers"]:
            if k in DROP_REQUEST or k.startswith(b"x-hhpu-") or k.startswith(b"x-forwarded-"):
                if k == b"authorization":
                    authz = v
                elif k == b"x-api-key":
                    api_key = v
                elif k == b"x-request-id":
                    rid = v
                elif k == b"transfer-encoding":
                    chunked = True
                elif k == b"connection":
                    hop = v
                continue
            if k == b"content-length":
                clen = v
            elif k == b"origin":
                origin = v
            elif k == b"access-control-request-method":
                preflight = v
            fwd.append((k, v))
        if hop is not None:  # headers the client named in Connection are hop-by-hop too (RFC 9110 7.6.1)
            named = {t.strip().lower() for t in hop.split(b",")}
            fwd = [(k, v) for k, v in fwd if k not in named]
        if rid is None or not RID.fullmatch(rid):
            rid = f"{self._rid_prefix}{next(self._rid_counter):08x}".encode()
        rid_s = rid.decode()
        token = request_id_var.set(rid_s)
        extra = [*SECURITY_HEADERS, (b"x-request-id", rid), *self._cors(origin)]
        route = "unmatched"
        status = 500
        sent = 0  # the status of the response actually started (0: none yet)
        upstream_name = ""
        client_kind = "anonymous"

        async def send_(msg: Any) -> None:
            nonlocal sent
            if msg["type"] == "http.response.start":
                sent = msg["status"]
            await send(msg)

        try:
            local = self.ops.local.get(path)
            if local is not None and method in LOCAL_METHODS:
                route = path
                status = await local(scope, receive, send_, extra)
                return
            if method == "OPTIONS" and preflight is not None and origin is not None:
                route, status = "preflight", await self.ops.preflight(send_, extra, bool(self._cors(origin)))
                return
            if local is not None:
                route, status = path, 405
                extra.append((b"allow", b", ".join(m.encode() for m in sorted(LOCAL_METHODS))))
                return await self._problem(
                    scope, send_, extra, 405, "Method not allowed", f"{method} is not allowed here", "method"
                )
            service = resolve(path) if path_is_safe(path) else None
            if path in FANOUT_PATHS:  # answered here, by asking every service (gateway.fanout)
                service = "gateway"
            elif service is None or service not in self.upstreams:
                status = 404
                return await self._problem(scope, send, extra, 404, "Not found", None, "not_found")
            upstream_name = service
            rule = policy.match(method, path)
            route = rule.template if rule is not None else policy.fallback_template(path)
            if clen is not None and (not clen.isdigit() or int(clen) > self.max_body):
                status = 413
                metrics.rejected("body_too_large")
                return await self._problem(
                    scope, send, extra, 413, "Payload too large", f"limit {self.max_body} bytes", "too_large"
                )
            try:
                principal, scopes = await self.auth.authenticate(api_key, authz)
                auth_detail = "credentials required: X-API-Key or Authorization: Bearer"
            except AuthError as exc:
                principal, scopes, auth_detail = None, None, str(exc)
            except KeyServiceError:
                status = 503
                metrics.rejected("auth_unavailable")
                return await self._problem(
                    scope,
                    send,
                    extra,
                    503,
                    "Service unavailable",
                    "cannot verify credentials now; retry shortly",
                    "auth_unavailable",
                    retry_after=RETRY_AFTER_S,
                )
            if principal is None:
                status = await self._limited(scope, send, extra, "ip:" + _client_ip(scope))
                if status == 0:
                    status = 401
                    metrics.rejected("unauthenticated")
                    extra.append((b"www-authenticate", b'Bearer realm="hhpu", ApiKey realm="hhpu"'))
                    await self._problem(
                        scope, send, extra, 401, "Unauthenticated", auth_detail, "unauthenticated"
                    )
                return
            client_kind = principal.kind
            ok = bool(principal.roles & (rule.roles if rule is not None else policy.ADMIN))
            if ok and scopes is not None:
                ok = policy.scope_allows(method, path, scopes)
            status = await self._limited(scope, send, extra, principal.kind + ":" + principal.subject)
            if status:
                return
            if not ok:
                status = 403
                metrics.rejected("forbidden")
                return await self._problem(
                    scope,
                    send,
                    extra,
                    403,
                    "Forbidden",
                    "your role does not allow this operation",
                    "forbidden",
                )
            if service == "gateway":
                rid = extra[len(SECURITY_HEADERS)]
                status = await self.fanout.serve(scope, send_, [*fwd, rid], extra, principal, self._problem)
                return
            status = await self._forward(scope, receive, send_, fwd, extra, principal, service, clen, chunked)
            if status < 300 and method not in READ_METHODS and resource_of(path) == "agencies":
                self.keys.invalidate()  # a key may have been revoked: never serve it from cache
        except UpstreamError as exc:
            status = exc.status
            retry_after = exc.retry_after or (RETRY_AFTER_S if exc.status == 503 else None)
            kw: dict[str, Any] = {"retry_after": retry_after} if retry_after else {}
            await self._problem(scope, send, extra, exc.status, exc.title, exc.detail, exc.code, **kw)
        except BodyTooLarge:
            status = 413
            metrics.rejected("body_too_large")
            await self._problem(
                scope, send, extra, 413, "Payload too large", f"limit {self.max_body} bytes", "too_large"
            )
        except ClientGone:
            status = 499
        except ResponseBroken as exc:  # already relaying: the client sees the connection cut off
            log.warning("upstream broke off a response", extra={"upstream": exc.upstream})
            status = 502
        except Exception:
            log.exception("gateway request failed", extra={"route": route, "upstream": upstream_name})
            status = 500
            if not sent:
                await self._problem(scope, send_, extra, 500, "Internal server error", None, "internal_error")
        finally:
            if sent and status != 502:
                status = sent  # what the client got (a service's 500 too)
            elapsed = time.perf_counter() - start
            metrics.observe_request(method, route, status, elapsed)
            if self.access is not None and route not in ("/healthz", "/metrics"):
                self.access.write(rid_s, method, route, status, elapsed * 1000, upstream_name, client_kind)
            request_id_var.reset(token)

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        fwd: list[tuple[bytes, bytes]],
        extra: list[tuple[bytes, bytes]],
        principal: Principal,
        service: str,
        clen: bytes | None,
        chunked: bool,
    ) -> int:
        method, path = scope["method"], scope["path"]
        fwd.append((IDENTITY_HEADER.encode(), self.minter.token(principal, method, path)))
        fwd.append((b"x-request-id", extra[len(SECURITY_HEADERS)][1]))
        has_body = chunked or (clen is not None and clen != b"0")
        keep = (method, path) in IDEMPOTENT_ROUTES  # the body may have to be sent again
        body = BodyCounter(receive, self.max_body, keep) if has_body else None
        return await self.upstreams[service].forward(
            scope, receive, send, fwd, extra, body, lambda: self.minter.token(principal, method, path)
        )

    async def _limited(self, scope: Scope, send: Send, extra: list[tuple[bytes, bytes]], client: str) -> int:
        wait = self.limiter.take(client)
        if not wait:
            return 0
        metrics.rejected("rate_limited")
        await self._problem(
            scope,
            send,
            extra,
            429,
            "Too many requests",
            "rate limit exceeded",
            "rate_limited",
            retry_after=max(1, int(wait + 0.999)),
        )
        return 429

    async def _problem(
        self,
        scope: Scope,
        send: Send,
        extra: list[tuple[bytes, bytes]],
        status: int,
        title: str,
        detail: str | None,
        code: str,
        **kw: Any,
    ) -> None:
        resp = problem(status, title, detail, code, **kw)
        resp.raw_headers.extend(extra)

        async def _no_receive() -> Any:
            return {"type": "http.disconnect"}

        await resp(scope, _no_receive, send)


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def create_app(
    settings: GatewaySettings | None = None,
    *,
    upstreams: dict[str, str] | None = None,
    asgi_apps: dict[str, ASGIApp] | None = None,
    key_verifier: KeyVerifier | None = None,
) -> Gateway:
    """The gateway. `asgi_apps` (service name -> ASGI app) forwards in-process (single-process mode);
    otherwise `upstreams` (service name -> base URL) or the settings' URLs are used over HTTP."""
    settings = settings or GatewaySettings()
    if not logging.getLogger().handlers:  # a bare process (the image's uvicorn command): JSON logs
        configure_logging("gateway", settings.log_level)
    urls = {**settings.upstream_urls(), **(upstreams or {})}
    ups: dict[str, Upstream] = {}
    for name in SERVICES:
        if asgi_apps and name in asgi_apps:
            ups[name] = AsgiUpstream(name, asgi_apps[name], settings)
        elif urls.get(name):
            ups[name] = _http_upstream(name, urls[name], settings)
    for name, app in (asgi_apps or {}).items():  # services outside the routing table (tests, extensions)
        ups.setdefault(name, AsgiUpstream(name, app, settings))
    gw = Gateway(settings, ups, key_verifier or _no_keys())
    if key_verifier is None and KEY_SERVICE in ups:
        gw.keys.inner = UpstreamKeyVerifier(ups[KEY_SERVICE], gw.minter)
    return gw


def _http_upstream(name: str, url: str, settings: GatewaySettings) -> Upstream:
    if settings.upstream_client == "builtin" and url.startswith("http://"):
        return RawHttpUpstream(name, url, settings)
    return HttpUpstream(name, url, settings)


class _NoKeys:
    async def verify(self, key: str) -> None:
        return None


def _no_keys() -> KeyVerifier:
    return _NoKeys()
