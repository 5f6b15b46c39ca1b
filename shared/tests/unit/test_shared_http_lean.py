"""Per-request work of the shared HTTP shape, done once or not at all: the identity, role, settings,
justification and paging dependencies run on the event loop (no worker-thread trip), a request
finding a free slot is admitted without a timed wait, and the request metrics still count every
request with their children looked up once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from hhpu_shared import metrics
from hhpu_shared.auth import ReplayGuard
from hhpu_shared.errors import install_error_handlers
from hhpu_shared.http import (
    JustificationDep,
    ObservabilityMiddleware,
    PageDep,
    PrincipalDep,
    build_service_app,
    require_roles,
    settings_of,
)
from hhpu_shared.overload import ConcurrencyLimitMiddleware
from hhpu_shared.settings import ServiceSettings
from hhpu_shared.testing.plugin import identity_headers, rebind_test_identity

Settings = Annotated[ServiceSettings, Depends(settings_of(ServiceSettings))]
Reader = Annotated[Any, Depends(require_roles("analyst"))]


def make_app(service: str) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    runtime = type("Runtime", (), {})()
    runtime.settings = ServiceSettings(environment="test", service_name=service)
    runtime.replay_guard = ReplayGuard()
    app.state.runtime = runtime

    @app.get("/api/v1/things")
    async def things(
        _: Reader, principal: PrincipalDep, settings: Settings, why: JustificationDep, page: PageDep
    ) -> dict[str, Any]:
        return {"who": principal.subject, "service": settings.service_name, "why": why, "limit": page.limit}

    app.add_middleware(ConcurrencyLimitMiddleware, service=service, limit=4, queue_timeout_s=1.0)
    app.add_middleware(ObservabilityMiddleware, service=service)
    return app


def _client(app: FastAPI) -> TestClient:
    client = TestClient(app)
    client.event_hooks["request"] = [rebind_test_identity]
    return client


def test_the_shared_dependencies_and_a_free_slot_cost_no_thread_trip_and_no_timed_wait(monkeypatch) -> None:
    trips: list[str] = []
    waits: list[str] = []
    real_run_sync, real_wait_for = anyio.to_thread.run_sync, asyncio.wait_for

    async def run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        trips.append(repr(func))
        return await real_run_sync(func, *args, **kwargs)

    async def wait_for(aw: Any, timeout: float | None) -> Any:
        waits.append("wait")
        return await real_wait_for(aw, timeout)

    monkeypatch.setattr(anyio.to_thread, "run_sync", run_sync)
    monkeypatch.setattr(asyncio, "wait_for", wait_for)
    headers = identity_headers("analyst", subject="user:a1") | {"X-Justification": "weekly review"}
    with _client(make_app("lean-a")) as client:
        r = client.get("/api/v1/things?limit=7", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"who": "user:a1", "service": "lean-a", "why": "weekly review", "limit": 7}
    assert trips == [] and waits == []


def test_the_dependencies_still_refuse_what_they_refused() -> None:
    with _client(make_app("lean-b")) as client:
        assert client.get("/api/v1/things").status_code == 401
        staff = identity_headers("analyst", subject="user:a2")
        missing = client.get("/api/v1/things", headers=staff)
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "X-Justification"
        other = identity_headers("meeting_chair", subject="user:c1") | {"X-Justification": "x-check"}
        assert client.get("/api/v1/things", headers=other).status_code == 403


def test_request_metrics_count_every_request_with_cached_children() -> None:
    def counted() -> float:
        return metrics.HTTP_REQUESTS.labels("lean-c", "GET", "/api/v1/things", "200")._value.get()

    def observed() -> float:
        hist = metrics.HTTP_LATENCY.labels("lean-c", "GET", "/api/v1/things")
        return sum(b.get() for b in hist._buckets)

    headers = identity_headers("analyst", subject="user:a3") | {"X-Justification": "weekly review"}
    with _client(make_app("lean-c")) as client:
        for _ in range(3):
            assert client.get("/api/v1/things", headers=headers).status_code == 200
    assert counted() == 3
    assert observed() == 3


def test_a_service_app_does_not_look_for_opentelemetry_on_every_request(monkeypatch) -> None:
    from opentelemetry import trace

    looked: list[str] = []
    real = trace.get_tracer_provider
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: looked.append("tracer") or real())
    runtime = type("Runtime", (), {})()
    runtime.settings = ServiceSettings(environment="test", service_name="lean-d")
    runtime.service = "lean-d"
    app = build_service_app(runtime, title="t", description="d", routers=[])
    assert app._native_telemetry.enabled() is False and looked == []
    FastAPI()._native_telemetry.enabled()  # FastAPI's default: the providers, looked up per request
    assert looked == ["tracer"]
