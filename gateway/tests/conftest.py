"""Fixtures for the gateway tests; helpers live in ``gateway.testing``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from gateway.app import create_app
from gateway.routes import SERVICES
from gateway.testing import FakeKeyStore, ServerThread, make_echo, settings


@pytest.fixture(autouse=True)
def development_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway accepts its development secrets only when asked to: the tests ask."""
    monkeypatch.setenv("GATEWAY_ENVIRONMENT", "development")


@pytest.fixture
def keystore() -> FakeKeyStore:
    return FakeKeyStore()


@pytest.fixture
def gateway_client(keystore: FakeKeyStore) -> Iterator[Callable[..., TestClient]]:
    """Factory: a TestClient on a single-process gateway whose upstreams are echo apps."""
    clients: list[TestClient] = []

    def make(**kw: Any) -> TestClient:
        apps = {svc: make_echo(svc) for svc in SERVICES}
        apps.update(kw.pop("asgi_apps", {}))
        upstreams = kw.pop("upstreams", None)
        if upstreams:
            for name in upstreams:
                apps.pop(name, None)
        gw = create_app(settings(**kw), upstreams=upstreams, asgi_apps=apps, key_verifier=keystore)
        client = TestClient(gw, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def served_echo() -> Iterator[Callable[..., ServerThread]]:
    servers: list[ServerThread] = []

    def start(service: str = "referral-api", **kw: Any) -> ServerThread:
        s = ServerThread(make_echo(service, **kw)).__enter__()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.__exit__()


@pytest.fixture(params=["builtin", "aiohttp"])
def upstream_client(request: pytest.FixtureRequest) -> str:
    """HTTP-mode tests run with both upstream clients."""
    return str(request.param)
