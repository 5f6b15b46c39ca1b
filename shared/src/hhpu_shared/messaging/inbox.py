"""Inbox of processed events: a redelivered event has no second effect."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Delete, Insert, Table, bindparam, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from hhpu_shared.db import rows_insert, rows_param


class InboxRecord(SQLModel, table=True):
    __tablename__ = "inbox"

    consumer_group: str = Field(primary_key=True, max_length=128)
    event_id: str = Field(primary_key=True, max_length=36)
    event_type: str = Field(max_length=128)
    processed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


_TABLE: Table = InboxRecord.__table__  # type: ignore[attr-defined]
_UNCLAIM: Delete = delete(_TABLE).where(
    (_TABLE.c.consumer_group == bindparam("g")) & (_TABLE.c.event_id == bindparam("e"))
)


@functools.cache
def _claim_statement(dialect: str) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING RETURNING event_id``, built once per dialect. RETURNING
    tells a fresh insert from a conflict on both dialects (psycopg reports rowcount -1 here, so
    rowcount cannot be trusted); several rows run as one statement (SQLAlchemy's insertmanyvalues)."""
    stmt: Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(_TABLE).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(_TABLE).on_conflict_do_nothing()
    else:  # pragma: no cover - other dialects are not supported targets
        stmt = insert(_TABLE)
    return stmt.returning(_TABLE.c.event_id)


_COLUMNS = ("consumer_group", "event_id", "event_type", "processed_at")
# PostgreSQL: a batch's claims as one JSON parameter, one statement text whatever the batch's size (a
# multi-row VALUES grows with the batch: past 4 KB psycopg re-parses its text on every call).
_CLAIM_ROWS = rows_insert(_TABLE, _COLUMNS).on_conflict_do_nothing().returning(_TABLE.c.event_id)


def claimed(session: Session, group: str, event_id: str) -> bool:
    """Whether `group` has already processed the event (a read: takes no lock)."""
    where = (_TABLE.c.consumer_group == group) & (_TABLE.c.event_id == event_id)
    return session.execute(select(_TABLE.c.event_id).where(where)).first() is not None


def claim(session: Session, group: str, event_id: str, event_type: str) -> bool:
    """Insert the inbox row in the current transaction; False if already processed."""
    return bool(claim_many(session, group, [(event_id, event_type)]))


def claim_many(session: Session, group: str, events: Sequence[tuple[str, str]]) -> set[str]:
    """Claim several events (id, type) in the current transaction, in one statement; the ids claimed
    now (the others were processed already). An id given twice is claimed once.

    On PostgreSQL a claim another transaction holds uncommitted waits for it, as a single claim does."""
    now = datetime.now(UTC)
    unique = dict(events)
    if not unique:
        return set()
    conn = session.connection()
    rows = [
        dict(zip(_COLUMNS, (group, event_id, event_type, now), strict=True))
        for event_id, event_type in unique.items()
    ]
    if conn.dialect.name == "postgresql":
        result = conn.execute(_CLAIM_ROWS, rows_param(_TABLE, rows, conn.dialect))
    else:
        result = conn.execute(_claim_statement(conn.dialect.name), rows if len(rows) > 1 else rows[0])
    return {str(event_id) for (event_id,) in result}


def unclaim(session: Session, group: str, event_id: str) -> None:
    """Undo a claim made in the current transaction (its event was dead-lettered: a replay of it from
    the dead-letter topic must be able to apply it)."""
    session.connection().execute(_UNCLAIM, {"g": group, "e": event_id})
