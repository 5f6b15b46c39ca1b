"""A fake publisher for unit and relay tests: it keeps what it was given and acknowledges every message."""

from __future__ import annotations

from hhpu_shared.messaging.transport import OutboundMessage


class RecordingPublisher:
    """Every message published, in order; each acknowledged at once (no broker)."""

    def __init__(self) -> None:
        self.sent: list[OutboundMessage] = []

    def publish_batch(self, messages: list[OutboundMessage]) -> list[Exception | None]:
        self.sent.extend(messages)
        return [None for _ in messages]

    def close(self) -> None:
        pass
