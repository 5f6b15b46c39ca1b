"""In-process bus with Kafka's shape: append-only logs per topic, offsets per consumer group.

Used by the single-process mode and by unit tests; the consumer runner and the relay use it
exactly as they use Kafka. `InProcessBus` keeps messages in memory, so it offers no
durability; `hhpu_shared.messaging.embedded.EmbeddedLog` is the same bus with its storage in
a SQLite file (what `make run` uses). Both hand out the same `InProcessPublisher` and
`InProcessSource` objects: the storage methods (``_store``, ``_read``, ...) are the only
difference, and they are always called with the bus's lock (``_cond``) held.
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
        """Append in order; when this returns the messages are stored (durably, if the bus is)."""
        with self._cond:
            self._store(messages)
            self._cond.notify_all()

    def messages(self, topic: str) -> list[OutboundMessage]:
        """The messages the log still holds for `topic`, oldest first."""
        with self._cond:
            return self._all(topic)

    def close(self) -> None:
        return None

    # -- storage (called with self._cond held) ----------------------------------------
    def _store(self, messages: list[OutboundMessage]) -> None:
        for m in messages:
            self._logs[m.topic].append(m)

    def _all(self, topic: str) -> list[OutboundMessage]:
        return list(self._logs.get(topic, []))

    def _read(self, topic: str, start: int, limit: int) -> list[InboundMessage]:
        """Up to `limit` messages of `topic` from offset `start` (or the oldest one kept after)."""
        log = self._logs.get(topic, [])
        return [
            InboundMessage(topic, 0, pos, log[pos].key, log[pos].value, list(log[pos].headers))
            for pos in range(start, min(len(log), start + limit))
        ]

    def _end(self, topic: str) -> int:
        """The offset the next message of `topic` will get."""
        return len(self._logs.get(topic, []))

    def _committed(self, group: str, topic: str) -> int:
        return self._offsets.get((group, topic), 0)

    def _commit(self, group: str, next_offsets: dict[str, int]) -> None:
        """Record the next offset to read per topic; a commit never moves an offset back."""
        for topic, nxt in next_offsets.items():
            key = (group, topic)
            self._offsets[key] = max(self._offsets.get(key, 0), nxt)

    def _register(self, group: str, topics: list[str]) -> None:
        """A consumer group subscribes to `topics` (the durable log keeps their messages for it)."""
        return None


class InProcessPublisher:
    def __init__(self, bus: InProcessBus) -> None:
        self._bus = bus

    def publish_batch(self, messages: list[OutboundMessage]) -> list[Exception | None]:
        try:
            self._bus.append(messages)
        except Exception as exc:  # the storage failed: nothing was appended, the relay retries
            return [exc] * len(messages)
        return [None] * len(messages)

    def close(self) -> None:
        return None


class InProcessSource:
    def __init__(self, bus: InProcessBus, group: str, topics: list[str]) -> None:
        self._bus = bus
        self._group = group
        self._topics = topics
        self._pending: dict[str, int] = {}
        with bus._cond:
            bus._register(group, topics)

    def _position(self, topic: str) -> int:
        return self._pending.get(topic, self._bus._committed(self._group, topic))

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
            pos = self._position(topic)
            got = self._bus._read(topic, pos, max_records - len(out)) if len(out) < max_records else []
            self._pending[topic] = got[-1].offset + 1 if got else pos
            out.extend(got)
        return out

    def commit(self, messages: list[InboundMessage]) -> None:
        next_offsets: dict[str, int] = {}
        for m in messages:
            next_offsets[m.topic] = max(next_offsets.get(m.topic, 0), m.offset + 1)
        if next_offsets:
            with self._bus._cond:
                self._bus._commit(self._group, next_offsets)

    def rewind(self, messages: list[InboundMessage] | None = None) -> None:
        """Deliver `messages` again; with None, forget all uncommitted progress (a restart)."""
        with self._bus._cond:
            if messages is None:
                self._pending.clear()
                return
            for m in messages:
                self._pending[m.topic] = min(self._pending.get(m.topic, m.offset), m.offset)

    def lag(self) -> int:
        """Messages not yet committed: a batch fetched but still being applied counts as lag, so
        readiness and ``System.settle`` do not report caught up while handlers are still running."""
        with self._bus._cond:
            return sum(max(0, self._bus._end(t) - self._bus._committed(self._group, t)) for t in self._topics)

    def close(self) -> None:
        return None
