"""Inbox of processed events: a redelivered event has no second effect."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Insert, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel


class InboxRecord(SQLModel, table=True):
    __tablename__ = "inbox"

    consumer_group: str = Field(primary_key=True, max_length=128)
    event_id: str = Field(primary_key=True, max_length=36)
    event_type: str = Field(max_length=128)
    processed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def claimed(session: Session, group: str, event_id: str) -> bool:
    """Whether `group` has already processed the event (a read: takes no lock)."""
    table = InboxRecord.__table__  # type: ignore[attr-defined]
    where = (table.c.consumer_group == group) & (table.c.event_id == event_id)
    return session.execute(select(table.c.event_id).where(where)).first() is not None


def claim(session: Session, group: str, event_id: str, event_type: str) -> bool:
    """Insert the inbox row in the current transaction; False if already processed."""
    values = {
        "consumer_group": group,
        "event_id": event_id,
        "event_type": event_type,
        "processed_at": datetime.now(UTC),
    }
    dialect = session.get_bind().dialect.name
    table = InboxRecord.__table__  # type: ignore[attr-defined]
    stmt: Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - other dialects are not supported targets
        stmt = insert(table).values(**values)
    # RETURNING tells a fresh insert from a conflict on both dialects (psycopg reports
    # rowcount -1 here, so rowcount cannot be trusted).
    result = session.execute(stmt.returning(table.c.event_id))
    return result.first() is not None
