"""The FastAPI shape every service shares: middleware, errors, health, metrics, dependencies."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hhpu_shared import heap, metrics
from hhpu_shared.auth import IDENTITY_HEADER, IdentityError, Principal, verify_identity
from hhpu_shared.context import (
    client_correlation_id_var,
    correlation_id_var,
    new_id,
    request_id_var,
    service_var,
)
from hhpu_shared.errors import (
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationProblem,
    field_error,
    install_error_handlers,
    problem,
)
from hhpu_shared.overload import (
    RETRY_AFTER_S,
    ConcurrencyLimitMiddleware,
    install_overload_handlers,
    reserve_threads,
)
from hhpu_shared.uow import UnitOfWork

if TYPE_CHECKING:
    from hhpu_shared.runtime import ServiceRuntime
    from hhpu_shared.settings import ServiceSettings

access_log = logging.getLogger("hhpu.access")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
T = TypeVar("T")
S = TypeVar("S", bound="ServiceSettings")


class ObservabilityMiddleware:
    """Request ids (created or propagated), metrics by route template, access log."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        # The metrics' children by (method, route, status), looked up once each (labels() takes a lock).
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = (headers.get(b"x-request-id") or b"").decode()[:64] or new_id()
        # The correlation id is always generated here (events and the audit carry it); the caller's
        # own X-Correlation-ID is kept apart, cleaned, for the audit trail.
        client = _SAFE_ID.fullmatch((headers.get(b"x-correlation-id") or b"").decode("latin-1")[:64])
        t_rid = request_id_var.set(rid)
        t_cid = correlation_id_var.set(new_id())
        t_client = client_correlation_id_var.set(client.group(0) if client else None)
        t_service = service_var.set(self.service)
        status = 500
        start = time.perf_counter()

        async def _send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [(b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            elapsed = time.perf_counter() - start
            method = scope.get("method", "")
            children = self._children.get((method, template, status))
            if children is None:
                children = (
                    metrics.HTTP_REQUESTS.labels(self.service, method, template, str(status)),
                    metrics.HTTP_LATENCY.labels(self.service, method, template),
                )
                if len(self._children) < 10_000:  # route templates, not paths: bounded anyway
                    self._children[(method, template, status)] = children
            children[0].inc()
            children[1].observe(elapsed)
            if template not in ("/healthz", "/metrics"):
                access_log.info(
                    "request",
                    extra={
                        "method": method,
                        "route": template,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(t_rid)
            correlation_id_var.reset(t_cid)
            client_correlation_id_var.reset(t_client)
            service_var.reset(t_service)


_CONTROL_IN_PATH = re.compile("[\x00-\x1f\x7f]")
_CONTROL_ESCAPED = re.compile(rb"%(?:[01][0-9A-Fa-f]|7[Ff])")


class ControlCharacterGuard:
    """A path or query string holding a control character (percent-encoded, as `%00`) is refused
    with a 422 before any route sees it: no id, name or filter has one, and PostgreSQL cannot
    even compare a NUL. Bodies are checked field by field (`hhpu_shared.fields`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = None
            if _CONTROL_IN_PATH.search(scope["path"]):
                where = "path"
            elif _CONTROL_ESCAPED.search(scope.get("query_string", b"")):
                where = "query"
            if where is not None:
                error = field_error(where, "control_character", f"the {where} holds a control character")
                detail = "The request did not pass validation; see errors."
                response = problem(422, "Invalid request", detail, "validation_failed", errors=[error])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def get_runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def own_service(request: Request, service: str, route: str) -> str:
    """This service's name, when `service` (a per-service path's ``{service}``) names it; a 404
    otherwise (the gateway routes ``/api/v1/<route>/<service>`` to the service it names)."""
    own = get_runtime(request).service
    if service != own:
        raise NotFound(f"This is the {own}; ask /api/v1/{route}/{service} through the gateway.")
    return own


def settings_of(cls: type[S]) -> Callable[[Request], Awaitable[S]]:
    """The dependency giving a service's settings: the runtime's (read once at start-up, never built
    in a route), as `cls`. A service declares ``SettingsDep = Annotated[X, Depends(settings_of(X))]``."""

    async def get_settings(request: Request) -> S:
        settings = get_runtime(request).settings
        if not isinstance(settings, cls):
            raise TypeError(f"the service runs with {cls.__name__}, not {type(settings).__name__}")
        return settings

    get_settings.__name__ = f"get_{cls.__name__}"
    return get_settings


# The dependencies below do no I/O, so they are `async`: FastAPI runs them on the event loop, where a
# sync dependency costs a round trip through the worker-thread pool each (about 0.3 ms of CPU under load).


async def get_principal(request: Request) -> Principal:
    """Verify the gateway's identity assertion; anything else is unauthenticated."""
    token = request.headers.get(IDENTITY_HEADER)
    if not token:
        raise Unauthorized("No verified identity: call through the gateway with credentials.")
    runtime = get_runtime(request)
    try:
        return verify_identity(
            token,
            runtime.settings.internal_secret,
            method=request.method,
            path=request.scope["path"],
            replay_guard=runtime.replay_guard,
        )
    except IdentityError as exc:
        raise Unauthorized("The identity assertion is invalid or expired.") from exc


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller holds one of `roles` (services check, not only the gateway)."""

    async def dep(principal: PrincipalDep) -> Principal:
        if not principal.has(*roles):
            raise Forbidden("Your role does not allow this operation.")
        return principal

    return dep


async def get_justification(
    principal: PrincipalDep,
    x_justification: Annotated[
        str | None,
        Header(
            alias="X-Justification",
            max_length=500,
            description=(
                "Why the caller consults or changes personal data (Data Protection Act 2018 s.62). "
                "Required of staff on every route that reads or changes a person's data; a partner "
                "agency's value is recorded as its purpose."
            ),
        ),
    ] = None,
) -> str:
    """The one justification rule: required for staff, a recorded purpose for partners."""
    value = " ".join((x_justification or "").split())
    if len(value) >= 3:
        return value
    if principal.kind == "staff":
        raise ValidationProblem(
            [field_error("X-Justification", "required", "give the reason for consulting this record")],
            detail="Reading or changing a person's data needs a justification (header X-Justification).",
        )
    if principal.is_partner:
        return f"partner agency {principal.agency_id}: referral to the HHPU (stated purpose)"
    return f"{principal.subject}: automated processing"


# Every route that reads or changes personal data takes this and passes it to the audit.
JustificationDep = Annotated[str, Depends(get_justification)]

MAX_PAGE = 500
MAX_OFFSET = 10_000_000


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


async def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")] = 0,
) -> PageParams:
    """Bounded paging for every list (an out-of-range value is a 422 problem, never a 500)."""
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(get_page)]


class Page(BaseModel, Generic[T]):
    """The one page shape of every list."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, items: Sequence[T], total: int, page: PageParams) -> Page[T]:
        return cls(items=list(items), total=total, limit=page.limit, offset=page.offset)


def get_uow(request: Request, principal: PrincipalDep) -> Iterator[UnitOfWork]:
    runtime = get_runtime(request)
    with runtime.unit_of_work(principal) as uow:
        yield uow


# scope="function": commit before the response is sent, so a client that got 201 can rely on it.
UoWDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]


def get_read_uow(request: Request, principal: PrincipalDep) -> Iterator[UnitOfWork]:
    with get_runtime(request).unit_of_work(principal, read_only=True) as uow:
        yield uow


# A route that only reads and writes no audit entry (e.g. the gateway's key check).
ReadUoWDep = Annotated[UnitOfWork, Depends(get_read_uow, scope="function")]


async def in_unit_of_work(request: Request, principal: Principal, work: Callable[[UnitOfWork], T]) -> T:
    """``work(uow)`` in one unit of work, committed before this returns (as `UoWDep`), all on one
    worker thread: an `async` route calling this makes one trip through the thread pool where a sync
    route taking `UoWDep` makes three (open, route, commit), for busy routes."""
    runtime = get_runtime(request)

    def run() -> T:
        with runtime.unit_of_work(principal) as uow:
            return work(uow)

    return await run_in_threadpool(run)


def build_service_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    prefix: str = "/api/v1",
    openapi_tags: list[dict[str, Any]] | None = None,
) -> FastAPI:
    """Create a service's FastAPI app with the shared middleware, errors and probes."""
    from contextlib import asynccontextmanager

    settings = runtime.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        reserve_threads(runtime.service, settings.request_limit() + 4)
        runtime.start()
        heap.settle()
        try:
            yield
        finally:
            runtime.stop()

    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        openapi_tags=openapi_tags,
        # The services export Prometheus metrics and JSON logs; FastAPI's native OpenTelemetry is off
        # (it looked up three global providers on every request to learn that none is configured).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    install_overload_handlers(app)
    for r in routers:
        app.include_router(r, prefix=prefix)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> JSONResponse:
        state, checks = runtime.readiness_state()
        body = {"status": state, "checks": checks}
        if state != "unavailable":
            return JSONResponse(body)
        return JSONResponse(body, 503, headers={"Retry-After": str(RETRY_AFTER_S)})

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(
        ConcurrencyLimitMiddleware,
        service=runtime.service,
        limit=settings.request_limit(),
        queue_timeout_s=settings.queue_timeout_s,
    )
    app.add_middleware(ControlCharacterGuard)
    app.add_middleware(ObservabilityMiddleware, service=runtime.service)  # outermost: sees every 503
    return app
