"""Transactional outbox: events are rows written in the business transaction.

Debezium's column names (aggregatetype, aggregateid, type, payload) keep CDC possible later.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Column, Index, Integer, LargeBinary, text
from sqlmodel import Field, Session, SQLModel

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


def add_event(
    session: Session,
    data: EventData,
    *,
    aggregate_id: str,
    producer: str,
    correlation_id: str,
    causation_id: str | None = None,
    subject: SubjectRef | None = None,
) -> Envelope:
    """Write one event to the outbox inside the caller's transaction."""
    spec = event_spec(data)
    env = Envelope(
        event_id=uuid.uuid4(),
        type=spec.name,
        version=spec.version,
        producer=producer,
        correlation_id=correlation_id,
        causation_id=causation_id,
        aggregate_type=spec.aggregate_type,
        aggregate_id=aggregate_id,
        subject=subject,
        data=data.model_dump(mode="json"),
    )
    session.add(
        OutboxRecord(
            id=str(env.event_id),
            aggregatetype=spec.aggregate_type,
            aggregateid=aggregate_id,
            type=spec.name,
            topic=spec.topic,
            payload=env.to_bytes(),
        )
    )
    return env
