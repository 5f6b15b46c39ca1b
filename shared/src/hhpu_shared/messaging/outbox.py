"""Transactional outbox: events are rows written in the business transaction.

Debezium's column names (aggregatetype, aggregateid, type, payload) keep CDC possible later.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Index, Integer, LargeBinary, text
from sqlmodel import Field, Session, SQLModel

from hhpu_shared.deferred import defer_rows
from hhpu_shared.events.envelope import Envelope, SubjectRef
from hhpu_shared.events.registry import EventData, event_spec


def _now() -> datetime:
    return datetime.now(UTC)


class OutboxRecord(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "seq",
            postgresql_where=text("published_at IS NULL"),
            sqlite_where=text("published_at IS NULL"),
        ),
    )

    seq: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    id: str = Field(index=True, unique=True, max_length=36)
    aggregatetype: str = Field(max_length=64)
    aggregateid: str = Field(max_length=128)
    type: str = Field(max_length=128)
    topic: str = Field(max_length=128)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=_now)
    published_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class PendingEvent:
    """An event to write: its data, the aggregate it is about and the subject, if one."""

    data: EventData
    aggregate_id: str
    subject: SubjectRef | None = None


# A plain Core INSERT on the session's connection (no ORM object, flush or autoflush).
_TABLE = OutboxRecord.__table__  # type: ignore[attr-defined]


def add_events(
    session: Session,
    items: Sequence[PendingEvent],
    *,
    producer: str,
    correlation_id: str,
    causation_id: str | None = None,
) -> list[Envelope]:
    """Write events to the outbox in the caller's transaction, in the order given: queued to its commit
    (:mod:`hhpu_shared.deferred`), so a consumer's batch of events is one INSERT, not one per event."""
    envelopes: list[Envelope] = []
    rows: list[dict[str, Any]] = []
    for item in items:
        spec = event_spec(item.data)
        env = Envelope(
            event_id=uuid.uuid4(),
            type=spec.name,
            version=spec.version,
            producer=producer,
            correlation_id=correlation_id,
            causation_id=causation_id,
            aggregate_type=spec.aggregate_type,
            aggregate_id=item.aggregate_id,
            subject=item.subject,
            data=item.data.model_dump(mode="json"),
        )
        envelopes.append(env)
        rows.append(
            {
                "id": str(env.event_id),
                "aggregatetype": spec.aggregate_type,
                "aggregateid": item.aggregate_id,
                "type": spec.name,
                "topic": spec.topic,
                "payload": env.to_bytes(),
                "created_at": _now(),
                "published_at": None,
                "attempts": 0,
                "last_error": None,
            }
        )
    defer_rows(session, _TABLE, rows)
    return envelopes
