"""Horizontal scale by partition on the real broker: three members of one consumer group share a
three-partition topic, one partition each, and every aggregate's events reach one member in order."""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import pytest
from hhpu_shared.messaging.kafka import KafkaPublisher, KafkaSource, ensure_topics
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing.plugin import unique

pytestmark = [pytest.mark.kafka]
TOPIC = "hhpu.scaletest.events"
AGGREGATES = 60
PER_AGGREGATE = 10


def test_three_members_share_the_partitions_and_keep_order_per_aggregate(kafka_bootstrap: str) -> None:
    ns = unique("t") + "."
    ensure_topics(kafka_bootstrap, [ns + TOPIC], partitions=3)
    group = unique("g")
    members = [
        KafkaSource(kafka_bootstrap, group, [TOPIC], namespace=ns, client_id=f"m{i}") for i in range(3)
    ]
    seen: dict[int, list[tuple[str, int]]] = defaultdict(list)
    assigned: dict[int, list[int]] = {}
    stop = threading.Event()

    def run(i: int) -> None:
        src = members[i]
        while not stop.is_set():
            msgs = src.poll(0.2)
            assigned[i] = src.partitions()
            for m in msgs:
                seen[i].append((m.key.decode(), int(m.value.decode())))
            src.commit(msgs)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(3)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if len(assigned) == 3 and all(len(p) == 1 for p in assigned.values()):
                break
            time.sleep(0.2)
        assert sorted(assigned.values()) == [[0], [1], [2]], assigned  # one each, not two and none
        pub = KafkaPublisher(kafka_bootstrap, namespace=ns)
        msgs = [
            OutboundMessage(topic=TOPIC, key=f"agg-{a}".encode(), value=str(seq).encode(), headers=[])
            for seq in range(PER_AGGREGATE)
            for a in range(AGGREGATES)
        ]
        assert pub.publish_batch(msgs) == [None] * len(msgs)
        pub.close()
        total = AGGREGATES * PER_AGGREGATE
        deadline = time.monotonic() + 60  # the consumption's own bound, whatever the join took
        while time.monotonic() < deadline and sum(len(v) for v in seen.values()) < total:
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        for m in members:
            m.close()
    assert sum(len(v) for v in seen.values()) == AGGREGATES * PER_AGGREGATE
    assert all(seen[i] for i in range(3)), {i: len(v) for i, v in seen.items()}  # every member worked
    owner: dict[str, int] = {}
    order: dict[str, list[int]] = defaultdict(list)
    for i, events in seen.items():
        for key, seq in events:
            assert owner.setdefault(key, i) == i, f"{key} reached two members"
            order[key].append(seq)
    assert len(order) == AGGREGATES
    assert all(v == list(range(PER_AGGREGATE)) for v in order.values())
