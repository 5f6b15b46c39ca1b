"""A record the real broker refuses (larger than the producer's 1 MB request limit) on PostgreSQL: the
publisher keeps the key's order (nothing after the refused record of its key reaches the topic) and its
producer; the relay holds that aggregate and publishes every other at once; once the row is mended the
held aggregate's events follow, in order, each once."""

from __future__ import annotations

import json

import pytest
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.kafka import KafkaPublisher, ensure_topics
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import OutboundMessage, RecordRefused
from hhpu_shared.testing import steps
from hhpu_shared.testing.plugin import unique
from kafka import KafkaConsumer
from kafka_delivery_testing import TOPIC
from sqlalchemy import Engine, text

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]
TOO_LARGE = b"x" * 1_100_000  # above kafka-python's max_request_size (1 MiB)


def _read(bootstrap: str, topic: str) -> list[tuple[bytes, int]]:
    c = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=4000
    )
    try:
        return [(m.key, json.loads(m.value)["data"]["seq"]) for m in c]
    finally:
        c.close()


def test_the_publisher_refuses_the_record_keeps_its_keys_order_and_its_producer(kafka_bootstrap: str) -> None:
    topic = unique("t") + ".hhpu.refused.events"
    ensure_topics(kafka_bootstrap, [topic, dlt_topic(topic)], partitions=1)
    publisher = KafkaPublisher(kafka_bootstrap, client_id="refused")
    try:

        def msg(key: bytes, seq: int, value: bytes | None = None) -> OutboundMessage:
            body = value or json.dumps({"data": {"seq": seq}}).encode()
            return OutboundMessage(topic=topic, key=key, value=body, headers=[])

        results = publisher.publish_batch([msg(b"a", 1, TOO_LARGE), msg(b"a", 2), msg(b"b", 1)])
        assert isinstance(results[0], RecordRefused) and "MessageSizeTooLarge" in str(results[0])
        assert results[1] is not None and results[2] is None
        assert publisher.publish_batch([msg(b"b", 2)]) == [None]
        assert publisher.replaced == 0  # the producer was sound: kept
    finally:
        publisher.close()
    assert _read(kafka_bootstrap, topic) == [(b"b", 1), (b"b", 2)]  # a's second record never went


def test_the_relay_holds_the_refused_aggregate_and_publishes_every_other(
    engine: Engine, kafka_bootstrap: str, namespace: str
) -> None:
    steps.write_steps(engine, ["bad"], 250)  # the first batches are all the refused aggregate's rows
    others = [f"o{i}" for i in range(30)]
    steps.write_steps(engine, others, 10)
    with engine.begin() as conn:
        head = conn.execute(text("SELECT min(seq) FROM outbox WHERE aggregateid = 'bad'")).scalar_one()
        original = conn.execute(text("SELECT payload FROM outbox WHERE seq = :s"), {"s": head}).scalar_one()
        conn.execute(text("UPDATE outbox SET payload = :p WHERE seq = :s"), {"p": TOO_LARGE, "s": head})
    publisher = KafkaPublisher(kafka_bootstrap, client_id="relay-refused", namespace=namespace)
    relay = OutboxRelay(engine, publisher, service="refused", batch_size=200, interval_s=0.05, max_hold_s=0.2)
    try:
        published = sum(relay.publish_pending() for _ in range(4))
        assert published == 300 and relay._failures == 0 and list(relay._held) == ["bad"]
        with engine.connect() as conn:
            error = conn.execute(text("SELECT last_error FROM outbox WHERE seq = :s"), {"s": head}).scalar()
        assert error is not None and "MessageSizeTooLarge" in error
        on_topic = _read(kafka_bootstrap, namespace + TOPIC)
        assert len(on_topic) == 300 and not [k for k, _ in on_topic if k == b"bad"]
        for agg in others:
            assert [seq for k, seq in on_topic if k == agg.encode()] == list(range(1, 11))

        with engine.begin() as conn:  # the row mended: the held aggregate follows, in order, once each
            conn.execute(text("UPDATE outbox SET payload = :p WHERE seq = :s"), {"p": original, "s": head})
        relay.drain(timeout_s=30)
        bad = [seq for k, seq in _read(kafka_bootstrap, namespace + TOPIC) if k == b"bad"]
        assert bad == list(range(1, 251))
        assert not relay._held and publisher.replaced == 0
    finally:
        publisher.close()
