"""The gateway settles its heap once started (hhpu_shared.heap): in one process that is after every
in-process service has started, so their start-up objects are frozen too."""

from __future__ import annotations

import gc

import pytest
from fastapi.testclient import TestClient
from gateway.app import create_app
from gateway.routes import SERVICES
from gateway.testing import FakeKeyStore, make_echo, settings
from hhpu_shared import heap


def test_the_gateway_settles_its_heap_once_every_upstream_has_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[str] = []
    real = heap.settle
    monkeypatch.setattr(heap, "settle", lambda: order.append("settle") or real())
    apps = {svc: make_echo(svc) for svc in SERVICES}
    gw = create_app(settings(), asgi_apps=apps, key_verifier=FakeKeyStore())
    for name, up in gw.upstreams.items():
        start = up.start

        async def started(start=start, name=name) -> None:  # type: ignore[no-untyped-def]
            await start()
            order.append(name)

        monkeypatch.setattr(up, "start", started)
    monkeypatch.setenv("HHPU_GC_FREEZE", "1")
    try:
        with TestClient(gw) as client:
            client.get("/healthz")
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
    assert order == [*gw.upstreams, "settle"]
