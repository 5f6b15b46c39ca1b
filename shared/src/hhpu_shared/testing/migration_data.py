"""Data through a service's migration history: rows written at one revision, read back at another.

A migration test upgrades a database to an old revision (usually the first), writes rows with
:func:`write_rows` through the tables as they are then, upgrades to head and checks with
:func:`changed_rows` that every row is still there with the values it was written with, and with
:func:`audit_chain` that the audit log written before the hash chain existed was chained.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, MetaData, and_, select
from sqlmodel import Session

from hhpu_shared.audit import ChainReport, verify_chain

Rows = Mapping[str, Sequence[Mapping[str, Any]]]


def write_rows(engine: Engine, rows: Rows) -> None:
    """Insert `rows` (table name -> rows, in the order given) through the tables as they are now."""
    metadata = MetaData()
    with engine.begin() as conn:
        metadata.reflect(conn, only=list(rows))
        for name, table_rows in rows.items():
            for row in table_rows:  # one by one: rows of a table may give different columns
                conn.execute(metadata.tables[name].insert(), dict(row))


def _plain(value: Any) -> Any:
    """A value as written and as read back compare equal (aware -> naive UTC, JSON text -> data)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def changed_rows(engine: Engine, rows: Rows, gone: Mapping[str, set[str]] | None = None) -> list[str]:
    """Every written row looked up by its primary key now: what is missing or changed (empty when
    the data is intact). Columns a revision dropped on purpose are named in `gone`."""
    gone = gone or {}
    metadata = MetaData()
    problems: list[str] = []
    with engine.connect() as conn:
        metadata.reflect(conn, only=list(rows))
        for name, table_rows in rows.items():
            table = metadata.tables[name]
            key = [c.name for c in table.primary_key.columns]
            for row in table_rows:
                where = and_(*(table.c[k] == row[k] for k in key))
                found = conn.execute(select(table).where(where)).mappings().first()
                ident = f"{name}[{', '.join(str(row[k]) for k in key)}]"
                if found is None:
                    problems.append(f"{ident} is missing")
                    continue
                for col, value in row.items():
                    if col in gone.get(name, set()):
                        if col in found:
                            problems.append(f"{ident}.{col} should be gone")
                    elif col not in found:
                        problems.append(f"{ident}.{col} was dropped")
                    elif _plain(found[col]) != _plain(value):
                        problems.append(f"{ident}.{col} is {found[col]!r}, was {value!r}")
    return problems


def first_revision_audit_rows(service: str, n: int, at: datetime) -> list[dict[str, Any]]:
    """`n` audit entries as the first revision's audit log holds them (no hash chain yet)."""
    return [
        {
            "at": at,
            "service": service,
            "operation": "consult",
            "actor": "user:om1",
            "actor_kind": "staff",
            "subject_type": "person",
            "subject_id": f"person-{i}",
            "justification": "written before the hash chain existed",
            "correlation_id": f"corr-{i}",
        }
        for i in range(n)
    ]


def audit_chain(engine: Engine) -> ChainReport:
    """The audit log's hash chain, recomputed (``ok`` and how many entries were ``checked``)."""
    with Session(engine) as session:
        return verify_chain(session)
