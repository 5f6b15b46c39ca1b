"""Consumer-group lag and live members read from the broker, so a dead consumer's lag is still seen.

A static member (as consumers run in production) reads the topic and is SIGKILLed while events keep
coming: the monitor (what the service's API process runs) sees one live member and a lag that drains
while it lives, then, once the dead member's session has expired, no live member and a lag that
grows: the state alert HHPUConsumerGroupDown fires on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hhpu_shared import metrics
from hhpu_shared.db import make_engine
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.group_lag import GroupLagMonitor, GroupState
from hhpu_shared.messaging.kafka import KafkaPublisher, ensure_topics
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.testing import steps
from hhpu_shared.testing.plugin import unique

pytestmark = [pytest.mark.kafka]
TOPIC = "hhpu.fdtest.events"


def _until(check: Callable[[], GroupState | None], what: str, timeout_s: float = 90) -> GroupState:
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got is not None:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_lag_and_members_are_read_from_the_broker_while_the_consumer_is_dead(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    ns, group = unique("lag") + ".", unique("g")
    ensure_topics(kafka_bootstrap, [ns + TOPIC, ns + dlt_topic(TOPIC)])
    writer, reader = f"sqlite:///{tmp_path}/w.db", f"sqlite:///{tmp_path}/r.db"
    wengine = make_engine(writer)
    steps.create_tables(wengine)
    publisher = KafkaPublisher(kafka_bootstrap, namespace=ns)
    relay = OutboxRelay(wengine, publisher, service="writer", interval_s=0.05)
    monitor = GroupLagMonitor(kafka_bootstrap, {group: [TOPIC]}, service="steps", namespace=ns)
    other = GroupLagMonitor(kafka_bootstrap, {unique("idle"): [TOPIC]}, service="steps", namespace=ns)
    args = ["--db", reader, "--bootstrap", kafka_bootstrap, "--namespace", ns, "--group", group]
    consumer = subprocess.Popen(
        [sys.executable, "-m", "hhpu_shared.testing.steps", *args, "--instance-id", "c0"], env={**os.environ}
    )
    relay.start()
    try:
        steps.write_steps(wengine, ["x", "y"], 20)
        live = _until(
            lambda: s if (s := monitor.measure()[group]).members == 1 and s.lag == 0 else None,
            "the live member to have read all 40 events",
        )
        assert live == GroupState(members=1, lag=0)
        # A group that never committed: all 40 are its lag; nobody reads for it.
        assert next(iter(other.measure().values())) == GroupState(members=0, lag=40)

        consumer.send_signal(signal.SIGKILL)
        assert consumer.wait(30) == -signal.SIGKILL
        with steps.PacedWriter(wengine, ["x", "y"], 0.2) as paced:
            dead = _until(
                lambda: s if (s := monitor.measure()[group]).members == 0 and s.lag > 0 else None,
                "the dead member's session to expire (6 s) with events waiting",
            )
            written = paced.stop()
        assert dead.lag <= written
        deadline = time.monotonic() + 60
        while relay.pending() and time.monotonic() < deadline:  # every event written is on the topic
            time.sleep(0.2)
        exported = monitor.export()[group]
        assert exported == GroupState(members=0, lag=written)
        assert metrics.CONSUMER_GROUP_MEMBERS.labels("steps", group)._value.get() == 0
        assert metrics.CONSUMER_GROUP_LAG.labels("steps", group)._value.get() == exported.lag
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait(10)
        relay.stop()
        publisher.close()
        monitor.stop()
        other.stop()
