"""Every service settles its heap once started (hhpu_shared.heap): the API once its lifespan has
started the runtime, the consumer process once its runtime runs (``python -m <package> consumer``, as
deployed; the wait for SIGTERM is ended by a SIGTERM)."""

from __future__ import annotations

import gc
import os
import signal
import threading

import pytest
from fastapi.testclient import TestClient
from hhpu.services import SERVICES, spec
from hhpu_shared import heap
from hhpu_shared.testing.databases import migrated


@pytest.mark.parametrize("name", list(SERVICES))
def test_the_api_settles_its_heap_once_started(
    name: str, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = spec(name)
    settings = service.settings(database_url=migrated(service.migrations, sqlite_url), transport="inprocess")
    app = service.create_app(settings, run_consumer=False)
    monkeypatch.setenv("HHPU_GC_FREEZE", "1")
    try:
        assert gc.get_freeze_count() == 0
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 10_000  # the app, its routes, the runtime, what they hold
    finally:
        gc.unfreeze()
        app.state.runtime.engine.dispose()


@pytest.mark.parametrize("name", ["case-service"])
def test_the_consumer_process_settles_its_heap_once_running(
    name: str, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = spec(name)
    _package, prefix = SERVICES[name]
    monkeypatch.setenv(f"{prefix}DATABASE_URL", migrated(service.migrations, sqlite_url))
    monkeypatch.setenv(f"{prefix}TRANSPORT", "inprocess")
    settled: list[bool] = []

    def settle() -> int:  # recorded, not frozen (this is the test process); then stop the process
        settled.append(True)
        os.kill(os.getpid(), signal.SIGTERM)
        return 0

    monkeypatch.setattr(heap, "settle", settle)
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    # if it never settles, stop it anyway (its handlers are installed within a second or two)
    backstop = threading.Timer(20, os.kill, (os.getpid(), signal.SIGTERM))
    backstop.start()
    try:
        service.main(["consumer"])  # returns once SIGTERM has stopped it
    finally:
        backstop.cancel()
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
    assert settled == [True]
