"""A consumer process started while Kafka is away waits for the broker, serving /metrics (its
liveness), and stops at once on SIGTERM. It used to spend 30 s bootstrapping in its start-up and
exit with an error; under Kubernetes that means restarts with a growing back-off (up to 5 min), so
events would have waited that long after the broker was back. With the broker there, the wait
returns as soon as the topics are made."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from hhpu.distributed import free_port
from hhpu.testing import eventually
from hhpu_shared.db import make_engine
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.settings import ServiceSettings
from hhpu_shared.testing import steps
from hhpu_shared.testing.plugin import unique
from kafka import KafkaAdminClient

WAITING = "waiting for the Kafka broker"


def test_a_consumer_started_while_the_broker_is_away_waits_for_it_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    metrics_port = free_port()
    env = {
        **os.environ,
        "HHPU_ENVIRONMENT": "test",
        "HHPU_TRANSPORT": "kafka",
        "HHPU_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",  # nothing listens there
        "HHPU_METRICS_PORT": str(metrics_port),
        "HHPU_METRICS_ADDR": "127.0.0.1",
        "REFERRAL_DATABASE_URL": f"sqlite:///{tmp_path}/referral.db",
    }
    migrated = subprocess.run(
        [sys.executable, "-m", "referral_api", "migrate"], env=env, capture_output=True, timeout=180
    )
    assert migrated.returncode == 0, migrated.stderr.decode()[-2000:]
    log = tmp_path / "consumer.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "referral_api.consumer"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:

        def metrics_served() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        eventually(metrics_served, timeout_s=60, what=f"/metrics while it waits (log: {log})")  # liveness
        eventually(lambda: WAITING in log.read_text(), timeout_s=30, what=f"{WAITING!r} in {log}")
        assert proc.poll() is None, log.read_text()[-3000:]  # waiting, not failed
        stopped = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()[-3000:]
        assert time.monotonic() - stopped < 10.0  # within one attempt (5 s), not a 30 s bootstrap
        assert "Traceback" not in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.kafka
def test_waiting_for_the_broker_ends_once_it_answers_with_the_topics_made(kafka_bootstrap: str) -> None:
    namespace = unique("away") + "."
    settings = ServiceSettings(
        environment="test", transport="kafka", kafka_bootstrap=kafka_bootstrap, topic_namespace=namespace
    )
    engine = make_engine("sqlite://")
    steps.create_tables(engine)
    runtime = ServiceRuntime(settings, migrations=steps.TestDomainSchema(), engine=engine, run_consumer=True)  # type: ignore[arg-type]
    stop = threading.Event()
    began = time.monotonic()
    assert runtime.wait_for_broker(stop, attempt_s=5.0) is True
    assert time.monotonic() - began < 30.0
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        made = {t for t in admin.list_topics() if t.startswith(namespace)}
    finally:
        admin.close()
    assert set(runtime._topic_names()) <= made
