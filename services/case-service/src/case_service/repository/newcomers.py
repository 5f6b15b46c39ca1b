"""A referral about a person new to the unit, in plain Core statements built once (no ORM object, no
flush, no autoflush, no identity map): one read of everything the event needs to know first, then
the person and their identifiers (each may meet another's: ON CONFLICT tells), and the rows nothing
can conflict with queued for the commit (``hhpu_shared.deferred``: one INSERT per table a batch).

Run on the session's connection, so they belong to its transaction (and a consumer batch's savepoint).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hhpu_shared.db import insert_if_absent, rows_insert, rows_param
from hhpu_shared.deferred import defer_rows
from hhpu_shared.protection import ProtectionMark, person_key
from sqlalchemy import Connection, Insert, Select, Table, bindparam, insert, null, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from case_service.models import (
    Assessment,
    AssessmentTrigger,
    Case,
    CaseStatusChange,
    Person,
    PersonHistory,
    PersonIdentifier,
)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


MARK, PERSON, IDENTIFIER = _table(ProtectionMark), _table(Person), _table(PersonIdentifier)
HISTORY, ASSESSMENT, TRIGGER = _table(PersonHistory), _table(Assessment), _table(AssessmentTrigger)
CASE, STATUS_CHANGE = _table(Case), _table(CaseStatusChange)


def _person_by(kind: str, param: str) -> Any:
    where = (IDENTIFIER.c.kind == kind) & (IDENTIFIER.c.value == bindparam(param))
    return select(IDENTIFIER.c.person_id).where(where).scalar_subquery()


# One statement, no FROM: the referral's own mark (erased by reference before it arrived), then the
# person it may name: by the referral itself (seen before), by records id (a person's column or an
# identifier) and by PNC number. Each is a unique-indexed lookup. A value the event does not carry is
# a NULL in the statement's text, not a lookup: PostgreSQL folds a NULL parameter's lookup away in a
# custom plan, so when some events lacked a PNC number its plan cache never settled on a generic plan
# and every call was planned anew (0.14 ms of the server's CPU an event, 8x the lookup). One text per
# set of values present keeps each plan.
@functools.cache
def _lookup(referral: bool, records_id: bool, pnc: bool) -> Select[Any]:
    def absent_or(present: bool, name: str, lookup: Any) -> Any:
        return (lookup if present else null()).label(name)

    return select(
        select(MARK.c.state).where(MARK.c.person_key == bindparam("referral_key")).scalar_subquery(),
        absent_or(referral, "by_referral", _person_by("referral", "referral_id")),
        absent_or(
            records_id,
            "by_records_id",
            select(PERSON.c.id).where(PERSON.c.records_id == bindparam("records_id")).scalar_subquery(),
        ),
        absent_or(records_id, "by_records_identifier", _person_by("records_id", "records_id")),
        absent_or(pnc, "by_pnc", _person_by("pnc", "pnc")),
    )


def _seen(
    conn: Connection, key: str, referral_id: str | None, records_id: str | None, pnc: str | None
) -> Seen:
    params = {"referral_key": key, "referral_id": referral_id, "records_id": records_id, "pnc": pnc}
    statement = _lookup(referral_id is not None, records_id is not None, pnc is not None)
    return Seen(*conn.execute(statement, {k: v for k, v in params.items() if v is not None}).one())


@dataclass(frozen=True)
class Seen:
    """What one read told about a referral: its mark, and the person ids it names (None: none)."""

    referral_mark: str | None
    by_referral: str | None
    by_records_id: str | None
    by_records_identifier: str | None
    by_pnc: str | None

    @property
    def nobody(self) -> bool:
        """No person is known by any of the referral's references."""
        return not (self.by_referral or self.by_records_id or self.by_records_identifier or self.by_pnc)


def referral_lookup(conn: Connection, referral_id: str, records_id: str | None, pnc: str | None) -> Seen:
    return _seen(conn, person_key(referral_id), referral_id, records_id, pnc)


def candidate_lookup(conn: Connection, records_id: str, pnc: str | None) -> Seen:
    """As `referral_lookup` for a ranking candidate: the mark of its records id (as `referral_mark`),
    and the person found by records id and by PNC number (no referral: `by_referral` is None)."""
    return _seen(conn, person_key(records_id), None, records_id, pnc)


_INSERT_PERSON = insert(PERSON)


@functools.cache
def _identifiers_if_absent(dialect: str, columns: tuple[str, ...]) -> Insert:
    """PostgreSQL: from one JSON parameter (one statement however many rows); SQLite: a VALUES (an
    executemany for several rows)."""
    stmt = rows_insert(IDENTIFIER, columns) if dialect == "postgresql" else sqlite_insert(IDENTIFIER)
    stmt = stmt.on_conflict_do_nothing(index_elements=["kind", "value"])
    return stmt.returning(IDENTIFIER.c.kind, IDENTIFIER.c.value)


def insert_person(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert a new person; False when their records id is already another row's (nothing written)."""
    if row["records_id"] is None:  # a new id: nothing can conflict
        conn.execute(_INSERT_PERSON, row)
        return True
    stmt = insert_if_absent(PERSON, ("records_id",), conn.dialect.name)
    return conn.execute(stmt, row).first() is not None


def insert_identifiers(conn: Connection, rows: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    """Insert each identifier unless its (kind, value) is known already; the (kind, value) inserted."""
    if not rows:
        return set()
    stmt = _identifiers_if_absent(conn.dialect.name, tuple(rows[0]))
    if conn.dialect.name == "postgresql":
        result = conn.execute(stmt, rows_param(IDENTIFIER, rows, conn.dialect))
    else:
        result = conn.execute(stmt, list(rows) if len(rows) > 1 else rows[0])
    return {(kind, value) for kind, value in result}


def insert_history(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """History rows, written at the commit (``hhpu_shared.deferred``: a batch is one INSERT)."""
    defer_rows(session, HISTORY, rows)


def _values(table: Table, prefix: str, names: Sequence[str] | None = None) -> dict[str, Any]:
    """Bind parameters `prefix` + column name for the columns `names` (all when None)."""
    columns = table.c.keys() if names is None else names
    return {n: bindparam(f"{prefix}{n}", type_=table.c[n].type) for n in columns}


def defer_opened(
    session: Session,
    assessment: dict[str, Any],
    trigger: dict[str, Any],
    case: dict[str, Any],
    status_change: dict[str, Any],
) -> None:
    """A new person's assessment (already naming its case), its first trigger, the candidate case and
    the case's first status, written at the commit with the other new people's of the transaction,
    one INSERT per table (``hhpu_shared.deferred``: anything that reads them first writes them). The
    person is new, so neither the open assessment's nor the active case's unique key can conflict;
    every column is given (the rows are complete), as the ORM would write them."""
    for table, row in (
        (ASSESSMENT, assessment),
        (TRIGGER, trigger),
        (CASE, case),
        (STATUS_CHANGE, status_change),
    ):
        defer_rows(session, table, [row])
