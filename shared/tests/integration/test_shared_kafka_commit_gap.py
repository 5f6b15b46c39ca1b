"""A consumer killed between its database commit and its offset commit applies nothing twice.

The consumer process (``python -m hhpu_shared.testing.steps``) is told to SIGKILL itself at its first
offset commit once events are committed to its database: the one crash the inbox exists for. The
test checks that the kill landed in that gap (the group's committed offsets are behind what the
database holds), then restarts the consumer: the events after the committed offsets are delivered
again, the inbox recognises the ones already applied, and each event's effect exists exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.kafka import KafkaPublisher, ensure_topics
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.testing import steps
from hhpu_shared.testing.plugin import create_pg_database, drop_pg_database, unique
from kafka import KafkaConsumer, TopicPartition

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
TOPIC = "hhpu.fdtest.events"


def _consumer(reader: str, bootstrap: str, ns: str, group: str, *extra: str) -> subprocess.Popen[bytes]:
    args = ["--db", reader, "--bootstrap", bootstrap, "--namespace", ns, "--group", group, *extra]
    return subprocess.Popen([sys.executable, "-m", "hhpu_shared.testing.steps", *args], env={**os.environ})


def _committed(bootstrap: str, ns: str, group: str) -> int:
    """The group's committed offsets, summed over the topic's partitions (read without joining)."""
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=ns + group, enable_auto_commit=False)
    try:
        tps = [TopicPartition(ns + TOPIC, p) for p in c.partitions_for_topic(ns + TOPIC) or []]
        return sum(c.committed(tp) or 0 for tp in tps)
    finally:
        c.close()


def _end(bootstrap: str, topic: str) -> int:
    c = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in c.partitions_for_topic(topic) or []]
        return sum(c.end_offsets(tps).values())
    finally:
        c.close()


@pytest.fixture
def reader(postgres_admin_url: str) -> Iterator[str]:
    url = create_pg_database(postgres_admin_url, "r")
    yield url
    drop_pg_database(postgres_admin_url, url)


@pytest.mark.parametrize("mode", [(), ("--outside",)], ids=["in-transaction", "outside-transaction"])
def test_killed_between_database_commit_and_offset_commit_applies_nothing_twice(
    tmp_path: Path, reader: str, kafka_bootstrap: str, mode: tuple[str, ...]
) -> None:
    """Both paths: the in-transaction batch, and the outside-transaction one (handlers writing on their
    own, the batch claimed after them), whose claims make the redelivered events duplicates."""
    ns, group = unique("gap") + ".", unique("g")
    ensure_topics(kafka_bootstrap, [ns + TOPIC, ns + dlt_topic(TOPIC)])
    writer = make_engine(f"sqlite:///{tmp_path}/writer.db")
    steps.create_tables(writer)
    steps.write_steps(writer, ["a", "b", "c"], 100)
    publisher = KafkaPublisher(kafka_bootstrap, namespace=ns)
    OutboxRelay(writer, publisher, service="writer").drain()
    publisher.close()
    reader_engine = make_engine(reader)
    steps.create_tables(reader_engine)

    proc = _consumer(reader, kafka_bootstrap, ns, group, "--die-before-offset-commit", "1", *mode)
    # bounded; generous for a starved machine (as the delivery test's kill wait)
    assert proc.wait(240) == -9, "the consumer was not killed at its offset commit"
    applied_at_kill = steps.applied_count(reader_engine)
    committed_at_kill = _committed(kafka_bootstrap, ns, group)
    assert 0 < applied_at_kill < 300
    assert committed_at_kill < applied_at_kill, "the kill did not land between the two commits"

    proc = _consumer(reader, kafka_bootstrap, ns, group, *mode)
    try:
        deadline = time.monotonic() + 120
        while steps.applied_count(reader_engine) < 300 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # a duplicate would show up now
        assert steps.applied_count(reader_engine) == 300
        by_agg = steps.applied_by_aggregate(reader_engine)
        assert by_agg == {k: list(range(1, 101)) for k in "abc"}
        assert steps.violations(reader_engine) == 0
        assert _end(kafka_bootstrap, ns + dlt_topic(TOPIC)) == 0, "a redelivered event was dead-lettered"
        assert _committed(kafka_bootstrap, ns, group) == 300
    finally:
        proc.terminate()
        proc.wait(30)
        reader_engine.dispose()
