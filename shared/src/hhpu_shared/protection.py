"""Restriction and erasure marks (Data Protection Act 2018 s.47), one table in every service database.

A mark names a person by a one-way key of the service's own reference (never the reference, a
name or a date of birth), so an erased person's mark keeps a late or replayed event from bringing
their data back, and a restricted person's records are not processed further.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, ColumnElement, Integer, String, exists, func, literal
from sqlmodel import Field, Session, SQLModel, col, select

from hhpu_shared.db import in_list


class MarkState(StrEnum):
    RESTRICTED = "restricted"
    ERASED = "erased"


class ProtectionMark(SQLModel, table=True):
    __tablename__ = "protection_mark"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    person_key: str = Field(max_length=64, unique=True)
    state: str = Field(max_length=16)
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    decided_by: str = Field(max_length=128)
    reason_code: str = Field(max_length=64)
    decision_id: str = Field(max_length=64)


def replace_references(value: Any, refs: set[str], token: str) -> Any:
    """`value` (decoded JSON) with every string equal to one of `refs`, or a ``:``-separated part of
    one (a trigger's ``run:ref``), replaced by `token`; everything else as it was."""
    if isinstance(value, str):
        if value in refs:
            return token
        if ":" in value:
            return ":".join(token if part in refs else part for part in value.split(":"))
        return value
    if isinstance(value, list):
        return [replace_references(v, refs, token) for v in value]
    if isinstance(value, dict):
        return {k: replace_references(v, refs, token) for k, v in value.items()}
    return value


_KEY_PREFIX = "hhpu-person|"


def person_key(ref: str) -> str:
    """The one-way key a mark stores instead of the person's reference."""
    return hashlib.sha256(f"{_KEY_PREFIX}{ref}".encode()).hexdigest()


def person_key_sql(ref: ColumnElement[Any]) -> ColumnElement[str]:
    """PostgreSQL: `person_key` of a reference expression, computed by the database (a test holds the
    two equal, byte for byte)."""
    salted = func.convert_to(literal(_KEY_PREFIX, String) + ref, "UTF8")
    return func.encode(func.sha256(salted), "hex")


def marked_clause(*refs: ColumnElement[Any]) -> ColumnElement[bool]:
    """PostgreSQL: whether any of `refs` (reference expressions over a query's rows; NULL ones count
    for nothing) carries a mark, so a lookup can say which of its rows are marked in the same trip."""
    return exists().where(col(ProtectionMark.person_key).in_([person_key_sql(ref) for ref in refs]))


# Core, built once and run on the session's connection (no ORM execution, no mark objects): every
# consumer's events and the matching of every referral run it. On PostgreSQL ``= ANY(array)``, one
# statement text whatever the number of references (prepared once); elsewhere an expanding IN.
_MARKS_OF: dict[str, Any] = {
    dialect: select(ProtectionMark.person_key, ProtectionMark.state).where(
        in_list(col(ProtectionMark.person_key), "keys", String, dialect)
    )
    for dialect in ("postgresql", "other")
}


def marks(session: Session, refs: Iterable[str | None]) -> dict[str, str]:
    """Reference -> state for the given references that carry a mark (marks set in this session and
    not yet flushed included: the session is flushed first, as an ORM query would)."""
    keys = {person_key(r): r for r in refs if r}
    if not keys:
        return {}
    if session.autoflush:
        session.flush()
    conn = session.connection()
    stmt = _MARKS_OF.get(conn.dialect.name, _MARKS_OF["other"])
    rows = conn.execute(stmt, {"keys": list(keys)}).all()
    return {keys[key]: state for key, state in rows}


def erased_keys(session: Session) -> frozenset[str]:
    """The one-way keys of every erased reference (a bulk import checks its rows against them once;
    erasures are few)."""
    rows = session.exec(select(ProtectionMark.person_key).where(ProtectionMark.state == MarkState.ERASED))
    return frozenset(rows.all())


def is_marked(session: Session, ref: str | None, *states: MarkState) -> bool:
    state = marks(session, [ref]).get(ref or "")
    return state is not None and (not states or state in states)


def set_mark(
    session: Session,
    refs: Iterable[str],
    state: MarkState,
    *,
    decided_by: str,
    reason_code: str,
    decision_id: str,
) -> int:
    """Mark each reference (erasure overrides restriction; restriction never undoes erasure)."""
    n = 0
    for ref in dict.fromkeys(r for r in refs if r):
        key = person_key(ref)
        row = session.exec(select(ProtectionMark).where(ProtectionMark.person_key == key)).first()
        if row is None:
            session.add(
                ProtectionMark(
                    person_key=key,
                    state=state.value,
                    decided_by=decided_by,
                    reason_code=reason_code,
                    decision_id=decision_id,
                )
            )
        elif row.state != MarkState.ERASED:
            row.state, row.decided_by, row.reason_code, row.decision_id = (
                state.value,
                decided_by,
                reason_code,
                decision_id,
            )
            row.at = datetime.now(UTC)
        n += 1
    session.flush()
    return n


def lift_restriction(session: Session, ref: str) -> bool:
    """Remove a restriction (never an erasure); True when there was one."""
    row = session.exec(select(ProtectionMark).where(ProtectionMark.person_key == person_key(ref))).first()
    if row is None or row.state != MarkState.RESTRICTED:
        return False
    session.delete(row)
    session.flush()
    return True
