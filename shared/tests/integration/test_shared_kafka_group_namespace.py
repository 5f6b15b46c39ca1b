"""A topic namespace isolates consumer groups too, not only topics.

Test runs share one broker, each under a namespace of its own, and every run's consumers of a
service use the same group name. When the group itself was not namespaced, all runs' members were
one group on the broker: a member of an earlier run that had stopped polling without leaving held up
each later join (the broker waits up to ``max.poll.interval.ms``, 5 minutes, for every member to
rejoin), and the later run's consumer got no partitions meanwhile. (Five end-to-end tests in CI
once waited in vain for their events, as this would make them; that this was the cause there is
not proven.)
"""

from __future__ import annotations

import time

import pytest
from hhpu_shared.messaging.group_lag import GroupLagMonitor
from hhpu_shared.messaging.kafka import KafkaSource, ensure_topics
from hhpu_shared.testing.plugin import unique

pytestmark = [pytest.mark.kafka]
TOPIC = "hhpu.fdtest.events"


def _assigned(source: KafkaSource, timeout_s: float) -> list[int]:
    """Poll (as the consumer runner does) until the member holds partitions; [] at the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        source.poll(0.2)
        if parts := source.partitions():
            return parts
    return []


def test_a_stalled_member_of_another_namespace_does_not_hold_up_this_ones_group(
    kafka_bootstrap: str,
) -> None:
    group = unique("g")  # one group name in both runs, as every run's case-service consumer has
    ns_a, ns_b = unique("nsa") + ".", unique("nsb") + "."
    ensure_topics(kafka_bootstrap, [ns_a + TOPIC, ns_b + TOPIC])
    stalled = KafkaSource(kafka_bootstrap, group, [TOPIC], namespace=ns_a)
    later: KafkaSource | None = None
    try:
        assert _assigned(stalled, 60) == [0, 1, 2]
        # The earlier run's member stops polling and does not leave: its heartbeats go on.
        later = KafkaSource(kafka_bootstrap, group, [TOPIC], namespace=ns_b)
        started = time.monotonic()
        parts = _assigned(later, 30)
        assert parts == [0, 1, 2], "the later run's consumer was held up by the other run's member"
        assert time.monotonic() - started < 30
        # Each run's monitor sees its own member only, under the group's plain name.
        for ns in (ns_a, ns_b):
            monitor = GroupLagMonitor(kafka_bootstrap, {group: [TOPIC]}, service="steps", namespace=ns)
            try:
                assert monitor.measure()[group].members == 1
            finally:
                monitor.stop()
    finally:
        for source in (later, stalled):
            if source is not None:
                source.close()
