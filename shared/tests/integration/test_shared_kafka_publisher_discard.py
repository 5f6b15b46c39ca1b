"""A producer discarded after a failed publish stops at once (real broker).

The relay replaces its producer after a failed publish (kafka-python 3.0.12's idempotent producer may
never send again otherwise). The old one was closed with ``close(timeout=0)``, which in that version
flushes first and, with records still pending, raises without stopping anything: its I/O thread kept
trying to send records the relay had counted as failed and publishes again through the new producer,
and a process kept one such thread per failed publish."""

from __future__ import annotations

import threading

import pytest
from hhpu_shared.messaging.kafka import KafkaPublisher, ensure_topics
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing.plugin import unique

pytestmark = [pytest.mark.kafka]
TOPIC = "hhpu.discardtest.events"


def _threads_of(client_id: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(client_id)]


def test_a_discarded_producer_holding_records_stops_and_leaves_no_thread(kafka_bootstrap: str) -> None:
    ns = unique("t") + "."
    ensure_topics(kafka_bootstrap, [ns + TOPIC], partitions=1)
    client_id = unique("discard")
    pub = KafkaPublisher(kafka_bootstrap, client_id=client_id, namespace=ns)
    try:
        producer = pub._ensure_producer()
        for _ in range(200):  # 2 MB still queued when the publish is given up
            producer.send(ns + TOPIC, key=b"agg", value=b"v" * 10_000)
        assert _threads_of(client_id)
        pub._discard_producer()
        assert _threads_of(client_id) == []  # its I/O thread is gone, not sending in the background
        msg = OutboundMessage(topic=TOPIC, key=b"agg", value=b"after", headers=[])
        assert pub.publish_batch([msg]) == [None]  # a new producer takes over
        assert pub.replaced == 1
    finally:
        pub.close()
    assert _threads_of(client_id) == []


def test_closing_a_publisher_with_records_unsent_stops_its_producer(kafka_bootstrap: str) -> None:
    """`close` at shutdown with records still pending at its deadline (as with the broker away):
    the producer's thread is stopped and no exception escapes into the service's shutdown.
    (kafka-python 3.0.12's own ``close`` raised there and left the thread running.)"""
    ns = unique("t") + "."
    ensure_topics(kafka_bootstrap, [ns + TOPIC], partitions=1)
    client_id = unique("closing")
    pub = KafkaPublisher(kafka_bootstrap, client_id=client_id, namespace=ns)
    producer = pub._ensure_producer()
    for _ in range(200):  # 2 MB still queued at a deadline of zero
        producer.send(ns + TOPIC, key=b"agg", value=b"v" * 10_000)
    pub.close(timeout_s=0)
    assert _threads_of(client_id) == []
    assert pub._producer is None
    pub.close()  # a second close is a no-op
