"""In-process bus with Kafka's shape: append-only logs per topic, offsets per consumer group.

Used by the single-process mode and by unit tests; the consumer runner and the relay use it
exactly as they use Kafka. It keeps messages in memory, so it offers no durability.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from hhpu_shared.messaging.transport import InboundMessage, OutboundMessage


class InProcessBus:
    def __init__(self) -> None:
        self._logs: dict[str, list[OutboundMessage]] = defaultdict(list)
        self._offsets: dict[tuple[str, str], int] = {}
        self._cond = threading.Condition()

    def publisher(self) -> InProcessPublisher:
        return InProcessPublisher(self)

    def source(self, group: str, topics: list[str]) -> InProcessSource:
        return InProcessSource(self, group, topics)

    def append(self, messages: list[OutboundMessage]) -> None:
        with self._cond:
            for m in messages:
                self._logs[m.topic].append(m)
            self._cond.notify_all()

    def messages(self, topic: str) -> list[OutboundMessage]:
        with self._cond:
            return list(self._logs.get(topic, []))


class InProcessPublisher:
    def __init__(self, bus: InProcessBus) -> None:
        self._bus = bus

    def publish_batch(self, messages: list[OutboundMessage]) -> list[Exception | None]:
        self._bus.append(messages)
        return [None] * len(messages)

    def close(self) -> None:
        return None


class InProcessSource:
    def __init__(self, bus: InProcessBus, group: str, topics: list[str]) -> None:
        self._bus = bus
        self._group = group
        self._topics = topics
        self._pending: dict[str, int] = {}

    def _position(self, topic: str) -> int:
        return self._pending.get(topic, self._bus._offsets.get((self._group, topic), 0))

    def poll(self, timeout_s: float, max_records: int = 100) -> list[InboundMessage]:
        bus = self._bus
        with bus._cond:
            out = self._take(max_records)
            if not out and timeout_s > 0:
                bus._cond.wait(timeout_s)
                out = self._take(max_records)
            return out

    def _take(self, max_records: int) -> list[InboundMessage]:
        out: list[InboundMessage] = []
        for topic in self._topics:
            log = self._bus._logs.get(topic, [])
            pos = self._position(topic)
            while pos < len(log) and len(out) < max_records:
                m = log[pos]
                out.append(InboundMessage(topic, 0, pos, m.key, m.value, list(m.headers)))
                pos += 1
            self._pending[topic] = pos
        return out

    def commit(self, messages: list[InboundMessage]) -> None:
        with self._bus._cond:
            for m in messages:
                key = (self._group, m.topic)
                self._bus._offsets[key] = max(self._bus._offsets.get(key, 0), m.offset + 1)

    def rewind(self, messages: list[InboundMessage] | None = None) -> None:
        """Deliver `messages` again; with None, forget all uncommitted progress (a restart)."""
        with self._bus._cond:
            if messages is None:
                self._pending.clear()
                return
            for m in messages:
                self._pending[m.topic] = min(self._pending.get(m.topic, m.offset), m.offset)

    def lag(self) -> int:
        with self._bus._cond:
            return sum(len(self._bus._logs.get(t, [])) - self._position(t) for t in self._topics)

    def close(self) -> None:
        return None
