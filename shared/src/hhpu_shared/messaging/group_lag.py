"""Consumer-group lag and live members, read from the broker rather than from the consumer.

A consumer exports its own lag (``hhpu_consumer_lag``), so a dead consumer has no lag series: the
one moment lag matters most is the one it cannot be seen. The service's API process therefore asks
the broker (Kafka's admin client) every `interval_s` for each of its service's consumer groups:

- ``hhpu_consumer_group_lag{service,group}``: messages in the group's topics past its committed
  offsets (a partition the group never committed counts from its earliest retained offset);
- ``hhpu_consumer_group_members{service,group}``: live members subscribed to those topics.

"No live member while events wait" (members 0, lag above 0) is what a dead consumer looks like;
alert HHPUConsumerGroupDown fires on it (deploy/prometheus/alerts.yml).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hhpu_shared import metrics
from hhpu_shared.background import ThreadLoop

log = logging.getLogger("hhpu.kafka.lag")


@dataclass(frozen=True)
class GroupState:
    members: int
    lag: int


def group_lag(
    committed: Mapping[Any, int | None], earliest: Mapping[Any, int], latest: Mapping[Any, int]
) -> int:
    """Messages not yet consumed, over partitions: end offset minus the committed offset (or minus
    the earliest retained offset where the group has committed nothing). Never negative."""
    total = 0
    for tp, end in latest.items():
        start = committed.get(tp)
        if start is None or start < 0:
            start = earliest.get(tp, 0)
        total += max(0, end - start)
    return total


def live_members(description: Mapping[str, Any], topics: set[str]) -> int:
    """Members of a described group subscribed to any of `topics` (a member subscribed to none of
    them reads for another purpose: a tool sharing the group's name)."""
    count = 0
    for member in description.get("members") or []:
        subscribed = set((member.get("member_metadata") or {}).get("topics") or [])
        if subscribed & topics:
            count += 1
    return count


class GroupLagMonitor:
    """Reads lag and live members of `groups` (group -> its topics, both without the namespace: the
    broker knows them as ``namespace + name``, as `KafkaSource` names them; the metrics' label is
    the name without it)."""

    def __init__(
        self,
        bootstrap: str,
        groups: Mapping[str, Sequence[str]],
        *,
        service: str,
        namespace: str = "",
        interval_s: float = 15.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.groups = {g: sorted(namespace + t for t in topics) for g, topics in groups.items()}
        self._ids = {g: namespace + g for g in groups}  # the group as the broker knows it (KafkaSource)
        self.service = service
        self.interval_s = interval_s
        self._admin: Any = None
        self._loop: ThreadLoop | None = None

    def _client(self) -> Any:
        if self._admin is None:
            from kafka import KafkaAdminClient

            from hhpu_shared.messaging.kafka import RECONNECT

            self._admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                client_id=f"{self.service}-lag",
                request_timeout_ms=5000,
                **RECONNECT,
            )
        return self._admin

    def _partitions(self, admin: Any, topics: list[str]) -> list[Any]:
        from kafka import TopicPartition

        out = []
        for t in admin.describe_topics(topics):
            out += [TopicPartition(t["name"], p["partition_index"]) for p in t["partitions"]]
        return out

    def measure(self) -> dict[str, GroupState]:
        """Lag and live members of every group, now (raises on a broker error)."""
        from kafka.admin import OffsetSpec

        admin = self._client()
        described = admin.describe_groups(list(self._ids.values()))
        committed_all = admin.list_group_offsets(dict.fromkeys(self._ids.values()))
        out: dict[str, GroupState] = {}
        for group, topics in self.groups.items():
            tps = self._partitions(admin, topics)
            latest = admin.list_partition_offsets(dict.fromkeys(tps, OffsetSpec.LATEST))
            earliest = admin.list_partition_offsets(dict.fromkeys(tps, OffsetSpec.EARLIEST))
            committed = {tp: om.offset for tp, om in (committed_all.get(self._ids[group]) or {}).items()}
            lag = group_lag(
                committed,
                {tp: o.offset for tp, o in earliest.items()},
                {tp: o.offset for tp, o in latest.items()},
            )
            members = live_members(described.get(self._ids[group]) or {}, set(topics))
            out[group] = GroupState(members=members, lag=lag)
        return out

    def export(self) -> dict[str, GroupState]:
        states = self.measure()
        for group, s in states.items():
            metrics.CONSUMER_GROUP_LAG.labels(self.service, group).set(s.lag)
            metrics.CONSUMER_GROUP_MEMBERS.labels(self.service, group).set(s.members)
        return states

    def _step(self) -> float:
        try:
            self.export()
        except Exception as exc:  # the broker away: the series keep their last values
            log.info("consumer group lag not read", extra={"error": type(exc).__name__})
            self._close_client()
        return self.interval_s

    def _close_client(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                admin.close()
            except Exception:  # closing a broken client is best effort
                pass

    def start(self) -> None:
        if self._loop is None and self.groups:
            self._loop = ThreadLoop(f"{self.service}-group-lag", self._step, service=self.service)
            self._loop.start()

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
            self._loop = None
        self._close_client()
