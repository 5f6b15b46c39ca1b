"""/readyz's broker check: each check opens a Kafka client (seconds of a loaded machine's time), so
a good answer stands for `kafka_ready_cache_s`; a failed one is asked again at once, so a broker
that comes back is seen on the next probe. The broker away leaves a service ready ("degraded": its
outbox keeps the events), and a service starts while the broker is away."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hhpu_shared import runtime as runtime_module
from hhpu_shared.db import make_engine
from hhpu_shared.http import build_service_app
from hhpu_shared.messaging import kafka
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.settings import ServiceSettings
from hhpu_shared.testing import steps


def _runtime(bootstrap: str, cache_s: float, db_url: str = "sqlite://") -> ServiceRuntime:
    settings = ServiceSettings(
        environment="test", transport="kafka", kafka_bootstrap=bootstrap, kafka_ready_cache_s=cache_s
    )
    eng = make_engine(db_url)
    steps.create_tables(eng)
    return ServiceRuntime(settings, migrations=steps.TestDomainSchema(), engine=eng)  # type: ignore[arg-type]


def test_a_good_check_stands_and_a_failed_one_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    answers, asked = [False, False, True, False], []

    def reachable(bootstrap: str) -> bool:
        asked.append(bootstrap)
        return answers[len(asked) - 1]

    monkeypatch.setattr(kafka, "kafka_reachable", reachable)
    rt = _runtime("broker:9092", cache_s=60)
    assert rt.readiness() == {"database": True, "kafka": False}
    assert rt.readiness()["kafka"] is False and len(asked) == 2  # a failure is not remembered
    assert rt.readiness()["kafka"] is True and len(asked) == 3
    assert all(rt.readiness()["kafka"] for _ in range(5)) and len(asked) == 3  # within the minute

    rt.settings = rt.settings.model_copy(update={"kafka_ready_cache_s": 0.0})  # the minute is over
    assert rt.readiness()["kafka"] is False and len(asked) == 4  # asked again: the broker is gone


def test_probes_during_a_check_take_its_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broker that is down: probes arriving while one check runs wait for it and share its answer,
    instead of each running its own timeout after the other."""
    asked: list[str] = []
    running = threading.Event()

    def reachable(bootstrap: str) -> bool:
        asked.append(bootstrap)
        running.set()
        time.sleep(0.3)  # the client's connection timeout, shortened
        return False

    monkeypatch.setattr(kafka, "kafka_reachable", reachable)
    rt = _runtime("broker:9092", cache_s=60)
    answers: list[bool] = []
    first = threading.Thread(target=lambda: answers.append(rt.readiness()["kafka"]))
    first.start()
    assert running.wait(5)
    others = [threading.Thread(target=lambda: answers.append(rt.readiness()["kafka"])) for _ in range(3)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(10)
    assert answers == [False] * 4 and len(asked) == 1
    assert rt.readiness()["kafka"] is False and len(asked) == 2  # a later probe asks again


@pytest.mark.kafka
def test_the_real_broker_is_ready_and_a_closed_port_is_not(kafka_bootstrap: str) -> None:
    assert _runtime(kafka_bootstrap, cache_s=5).readiness() == {"database": True, "kafka": True}
    assert _runtime("127.0.0.1:9", cache_s=5).readiness()["kafka"] is False


def test_the_broker_away_leaves_a_service_ready_and_degraded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the database is needed to serve: with the broker away the API takes writes (their events
    wait in the outbox), so it stays in a Kubernetes Service's rotation; the database away is 503."""
    up = {"kafka": False, "database": True}
    monkeypatch.setattr(kafka, "kafka_reachable", lambda bootstrap: up["kafka"])
    monkeypatch.setattr(runtime_module, "ping", lambda engine: up["database"])
    rt = _runtime("broker:9092", cache_s=0)
    client = TestClient(build_service_app(rt, title="t", description="d", routers=[]))  # not started
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json() == {
        "status": "degraded",
        "checks": {"database": True, "kafka": False},
    }
    up["kafka"] = True
    assert client.get("/readyz").json()["status"] == "ok"
    up["database"] = False
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "unavailable" and r.headers["retry-after"] == "1"


def test_a_service_starts_and_stops_while_the_broker_is_away() -> None:
    """Nothing at start waits for the broker: the relay's publisher connects on its first publish (in
    the relay's thread, retried there), so the API starts and serves. It used to make the topics and
    the producer in the start-up itself: 30 s of bootstrap, then "Application startup failed"."""
    rt = _runtime("127.0.0.1:9", cache_s=5)  # nothing listens there
    app = build_service_app(rt, title="t", description="d", routers=[])
    began = time.monotonic()
    with TestClient(app) as client:  # runs the lifespan: the runtime's start
        assert time.monotonic() - began < 5.0
        assert rt.relay is not None and rt.relay._loop.running
        r = client.get("/readyz")
        assert r.status_code == 200 and r.json()["status"] == "degraded"
        began = time.monotonic()
    assert time.monotonic() - began < 12.0 and not rt.started


def test_a_service_stopped_while_its_relay_waits_for_the_broker_stops_promptly(tmp_path: Path) -> None:
    """With events waiting and the broker away, the relay's thread is in a connection attempt. Each
    attempt is bounded (`BROKER_ATTEMPT_S`), so a stop (a pod's SIGTERM) ends within about
    that, with the relay's thread gone. Attempts used to take kafka-python's 30 s bootstrap: the stop
    gave up joining the thread after 10 s and left it running."""
    rt = _runtime("127.0.0.1:9", cache_s=5, db_url=f"sqlite:///{tmp_path / 'svc.db'}")  # shared by threads
    app = build_service_app(rt, title="t", description="d", routers=[])
    with TestClient(app):
        assert rt.relay is not None
        thread = rt.relay._loop._thread
        steps.write_steps(rt.engine, ["a"], 1)
        rt.relay.wake()
        time.sleep(1.0)  # the relay is connecting now
        # connecting, so nothing failed yet (a read of the outbox would wait: on SQLite the relay's
        # transaction holds the write lock while it publishes)
        assert thread is not None and thread.is_alive() and rt.relay._failures == 0
        began = time.monotonic()
    assert time.monotonic() - began < runtime_module.BROKER_ATTEMPT_S + 2.0 and not rt.started
    assert not thread.is_alive()
