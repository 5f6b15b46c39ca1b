"""The transport interface shared by Kafka and the in-process bus."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# The relay names each message's event id and type in its headers (a consumer group skips a type it
# has no handler for without parsing the message).
EVENT_ID_HEADER = "event_id"
EVENT_TYPE_HEADER = "event_type"


@dataclass(frozen=True)
class OutboundMessage:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass(frozen=True)
class InboundMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v.decode(errors="replace")
        return None


class RecordRefused(Exception):
    """The transport refused this one message (too large for it, say): sending it again fails the same
    way, while other messages go through. The relay holds its aggregate rather than backing off."""


class Publisher(Protocol):
    def publish_batch(self, messages: list[OutboundMessage]) -> list[Exception | None]:
        """Send messages in order; return one error (or None) per message, after flushing. A message
        whose key had an earlier message of the batch refused on sending is not sent (it fails too),
        so it does not reach the topic ahead of that one. (A message that fails later, in flight, is
        the broker's failure: Kafka's idempotent producer keeps a partition's order through retries.)"""
        ...

    def close(self) -> None: ...


class MessageSource(Protocol):
    def poll(self, timeout_s: float, max_records: int = 100) -> list[InboundMessage]: ...

    def commit(self, messages: list[InboundMessage]) -> None:
        """Record that these messages (and all before them per partition) are done."""
        ...

    def rewind(self, messages: list[InboundMessage]) -> None:
        """Deliver these (unfinished) messages again on the next poll."""
        ...

    def lag(self) -> int:
        """Messages not yet consumed, summed over assigned partitions (best effort)."""
        ...

    def close(self) -> None: ...
