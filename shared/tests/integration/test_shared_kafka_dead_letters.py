"""On a real Kafka broker: a poison message goes to the dead-letter topic and the consumer carries
on; a rolled-back transaction publishes nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from hhpu_shared.auth import system_principal
from hhpu_shared.db import make_engine
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.testing import steps
from hhpu_shared.testing.plugin import unique
from hhpu_shared.uow import unit_of_work
from kafka import KafkaConsumer, KafkaProducer
from kafka_delivery_testing import TOPIC, Relay, consumer_thread, wait_applied

pytestmark = [pytest.mark.kafka]


def test_poison_message_goes_to_dead_letter_topic_and_consumer_carries_on(
    sqlite_url: str, kafka_bootstrap: str, namespace: str
) -> None:
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(namespace + TOPIC, key=b"p", value=b"\x00 not an envelope").get(10)
    bad = Envelope(
        type="test.step_recorded",
        producer="t",
        correlation_id="c",
        aggregate_type="fdtest",
        aggregate_id="p",
        data={"aggregate": "p", "seq": "NaN!"},
    )
    producer.send(namespace + TOPIC, key=b"p", value=bad.to_bytes()).get(10)
    producer.close()
    with Relay(sqlite_url, kafka_bootstrap, namespace) as relay:
        steps.write_steps(relay.engine, ["ok"], 3)
        relay.relay.drain()
    reader = sqlite_url.replace("test.db", "reader.db")
    steps.create_tables(make_engine(reader))
    stop = threading.Event()
    t = threading.Thread(target=consumer_thread, args=(reader, kafka_bootstrap, namespace, unique("g"), stop))
    t.start()
    try:
        assert wait_applied(reader, 3, 60) == 3
    finally:
        stop.set()
        t.join(30)
    dlt = KafkaConsumer(
        namespace + dlt_topic(TOPIC),
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    dead = list(dlt)
    dlt.close()
    assert len(dead) == 2
    h = {k: v.decode() for k, v in dead[0].headers}
    assert h["dlt_original_topic"] == TOPIC and h["dlt_original_offset"] == "0"
    assert h["dlt_error_type"] == "ValidationError" and "dlt_error" in h
    assert dead[1].value == bad.to_bytes()


def test_rolled_back_transaction_publishes_nothing(db_url: str, kafka_bootstrap: str, namespace: str) -> None:
    with Relay(db_url, kafka_bootstrap, namespace) as relay:
        with pytest.raises(RuntimeError):
            with unit_of_work(relay.engine, service="t", principal=system_principal("t")) as uow:
                uow.emit(steps.StepRecorded(aggregate="rb", seq=1), aggregate_id="rb")
                raise RuntimeError("rollback")
        with unit_of_work(relay.engine, service="t", principal=system_principal("t")) as uow:
            uow.emit(steps.StepRecorded(aggregate="kept", seq=1), aggregate_id="kept")
        relay.relay.drain()
    c = KafkaConsumer(
        namespace + TOPIC,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=4000,
    )
    keys = [m.key for m in c]
    c.close()
    assert keys == [b"kept"]
