"""Events in tests: envelopes of contract data, published on a runtime's in-process bus and consumed."""

from __future__ import annotations

import time
import uuid

from sqlmodel import Session, col, select

from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, event_spec
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.runtime import ServiceRuntime


def envelope(data: EventData, aggregate_id: str | None = None, producer: str = "test") -> Envelope:
    """`data` in an envelope, as its producing service would send it."""
    spec = event_spec(data)
    return Envelope(
        type=spec.name,
        version=spec.version,
        producer=producer,
        correlation_id=uuid.uuid4().hex,
        aggregate_type=spec.aggregate_type,
        aggregate_id=aggregate_id or uuid.uuid4().hex,
        data=data.model_dump(mode="json"),
    )


def publish(runtime: ServiceRuntime, *envs: Envelope) -> None:
    """Put envelopes on the runtime's in-process bus, as the producing services would."""
    assert runtime.bus is not None
    msgs = [
        OutboundMessage(
            topic=f"hhpu.{e.aggregate_type}.events", key=e.aggregate_id.encode(), value=e.to_bytes()
        )
        for e in envs
    ]
    runtime.bus.publisher().publish_batch(msgs)


def consume(runtime: ServiceRuntime, *, deadline_s: float = 30.0, idle_polls: int = 2) -> int:
    """Run the runtime's consumer until it has been idle for `idle_polls` polls (or the deadline)."""
    consumer = runtime.build_consumer()
    assert consumer is not None
    end = time.monotonic() + deadline_s
    taken, idle = 0, 0
    while time.monotonic() < end and idle < idle_polls:
        n = consumer.run_once(0.2)
        taken += n
        idle = idle + 1 if n == 0 else 0
    return taken


def outbox_types(runtime: ServiceRuntime) -> list[str]:
    """The types of the events the runtime's service wrote to its outbox, oldest first."""
    with Session(runtime.engine) as s:
        return list(s.exec(select(OutboxRecord.type).order_by(col(OutboxRecord.seq))).all())
