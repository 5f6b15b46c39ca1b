"""A group join that a poll's timeout interrupts is finished by the next poll (real broker).

kafka-python 3.0.12 left a leader stranded when its metadata changed under it: the first join came
before the topic's metadata, or partitions were added. If the poll's timeout fell between the
leader's assignment and the broker's SyncGroup answer, no later poll took the answer; the member held
no partition and sent no heartbeat, for good. With 1 ms polls that window is hit every time (on
the library as it is: no partition within 30 s, five runs of five); `KafkaSource.poll` now makes the
next poll finish the join."""

from __future__ import annotations

import time

import pytest
from hhpu_shared.messaging.kafka import KafkaPublisher, KafkaSource, ensure_topics
from hhpu_shared.messaging.transport import InboundMessage, OutboundMessage
from hhpu_shared.testing.plugin import unique
from kafka import KafkaAdminClient
from kafka.admin import NewPartitions

pytestmark = [pytest.mark.kafka]
TOPIC = "hhpu.jointest.events"
POLL_S = 0.001  # far shorter than a join's round trips: every join is interrupted


def _poll_until(source: KafkaSource, partitions: list[int], taken: list[InboundMessage]) -> None:
    start = time.monotonic()
    while source.partitions() != partitions and time.monotonic() - start < 20:
        taken += source.poll(POLL_S)
    assert source.partitions() == partitions, f"held {source.partitions()} after 20 s"


def test_a_member_polling_briefly_joins_and_takes_added_partitions(kafka_bootstrap: str) -> None:
    ns = unique("t") + "."
    ensure_topics(kafka_bootstrap, [ns + TOPIC], partitions=1)
    source = KafkaSource(kafka_bootstrap, unique("g"), [TOPIC], namespace=ns, metadata_max_age_ms=500)
    taken: list[InboundMessage] = []
    try:
        _poll_until(source, [0], taken)  # the first join: its metadata came after it
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="hhpu-test")
        try:
            admin.create_partitions({ns + TOPIC: NewPartitions(total_count=3)})
        finally:
            admin.close()
        _poll_until(source, [0, 1, 2], taken)  # a partition added: the leader joins again
        pub = KafkaPublisher(kafka_bootstrap, namespace=ns)
        sent = [
            OutboundMessage(topic=TOPIC, key=f"agg-{i}".encode(), value=b"%d" % i, headers=[])
            for i in range(30)
        ]
        assert pub.publish_batch(sent) == [None] * len(sent)
        pub.close()
        deadline = time.monotonic() + 20
        while len(taken) < len(sent) and time.monotonic() < deadline:
            taken += source.poll(POLL_S)
    finally:
        source.close()
    assert {m.partition for m in taken} == {0, 1, 2}  # the keys spread over the added partitions too
    assert sorted(int(m.value) for m in taken) == list(range(30))
