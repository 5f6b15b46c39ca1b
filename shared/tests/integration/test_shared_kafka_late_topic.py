"""A consumer that joined before its topic was there gets the topic's partitions once it is.

A member joining while the broker's metadata does not show its topic is assigned nothing. For a
topic missing outright the client asks again at once (the test below); for one the broker knows but
without partition metadata yet (just created, on a starved broker) it waited for the next metadata
refresh: Kafka's default is 5 minutes, and a consumer in a fault test once held no partition for 4
minutes that way ("No partition metadata for topic" at its join). That case could not be made to
happen on demand; the source now refreshes every `METADATA_MAX_AGE_MS`, and the test checks the
running consumer has that bound.
"""

from __future__ import annotations

import time

import pytest
from hhpu_shared.messaging.kafka import METADATA_MAX_AGE_MS, KafkaSource, ensure_topics
from hhpu_shared.testing.plugin import unique

pytestmark = [pytest.mark.kafka]
TOPIC = "hhpu.fdtest.events"


def test_a_member_that_joined_before_its_topic_existed_gets_partitions(kafka_bootstrap: str) -> None:
    ns = unique("late") + "."
    source = KafkaSource(kafka_bootstrap, unique("g"), [TOPIC], namespace=ns)
    try:
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:  # joined, with nothing to hold: the topic does not exist
            source.poll(0.2)
            assert source.partitions() == []
        ensure_topics(kafka_bootstrap, [ns + TOPIC])
        created = time.monotonic()
        bound = created + METADATA_MAX_AGE_MS / 1000 + 20  # a refresh, then a rebalance
        while time.monotonic() < bound and not source.partitions():
            source.poll(0.2)
        assert sorted(source.partitions()) == [0, 1, 2], "no partition after the metadata refresh"
        assert source._consumer.config["metadata_max_age_ms"] == METADATA_MAX_AGE_MS <= 30_000
    finally:
        source.close()
