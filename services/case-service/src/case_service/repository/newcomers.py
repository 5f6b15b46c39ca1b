"""A referral about a person new to the unit, in plain Core statements built once (no ORM object, no
flush, no autoflush, no identity map): one read of everything the event needs to know first, then
each kind of row in one statement.

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
from sqlalchemy import JSON, Connection, Insert, Table, bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
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
# identifier) and by PNC number. Each is a unique-indexed lookup; an absent value finds nothing.
_LOOKUP = select(
    select(MARK.c.state).where(MARK.c.person_key == bindparam("referral_key")).scalar_subquery(),
    _person_by("referral", "referral_id"),
    select(PERSON.c.id).where(PERSON.c.records_id == bindparam("records_id")).scalar_subquery(),
    _person_by("records_id", "records_id"),
    _person_by("pnc", "pnc"),
)


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
    params: dict[str, str | None] = {"referral_key": person_key(referral_id), "referral_id": referral_id}
    params |= {"records_id": records_id, "pnc": pnc}
    row = conn.execute(_LOOKUP, params).one()
    return Seen(*row)


def candidate_lookup(conn: Connection, records_id: str, pnc: str | None) -> Seen:
    """As `referral_lookup` for a ranking candidate: the mark of its records id (as `referral_mark`),
    and the person found by records id and by PNC number (no referral: `by_referral` is None)."""
    params = {"referral_key": person_key(records_id), "referral_id": None, "records_id": records_id}
    row = conn.execute(_LOOKUP, params | {"pnc": pnc}).one()
    return Seen(*row)


_INSERT_PERSON = insert(PERSON)
_INSERT_ASSESSMENT = insert(ASSESSMENT)
_INSERT_TRIGGER = insert(TRIGGER)
_INSERT_CASE = insert(CASE)
_INSERT_STATUS_CHANGE = insert(STATUS_CHANGE)


@functools.cache
def _identifiers_if_absent(dialect: str, columns: tuple[str, ...] | None) -> Insert:
    """From one JSON parameter on PostgreSQL (`columns`: one statement however many rows), else
    (`columns` None) a plain VALUES: an executemany on SQLite."""
    if columns is None:
        stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(IDENTIFIER)
    else:
        stmt = rows_insert(IDENTIFIER, columns)
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
    if conn.dialect.name == "postgresql":
        stmt = _identifiers_if_absent(conn.dialect.name, tuple(rows[0]))
        result = conn.execute(stmt, rows_param(IDENTIFIER, rows, conn.dialect))
    else:
        stmt = _identifiers_if_absent(conn.dialect.name, None)
        result = conn.execute(stmt, list(rows) if len(rows) > 1 else rows[0])
    return {(kind, value) for kind, value in result}


def insert_history(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """History rows, written at the commit (``hhpu_shared.deferred``: a batch is one INSERT)."""
    defer_rows(session, HISTORY, rows)


def _values(table: Table, prefix: str, names: Sequence[str] | None = None) -> dict[str, Any]:
    """Bind parameters `prefix` + column name for the columns `names` (all when None)."""
    columns = table.c.keys() if names is None else names
    return {n: bindparam(f"{prefix}{n}", type_=table.c[n].type) for n in columns}


def _bound(table: Table, row: dict[str, Any]) -> tuple[str, ...]:
    """The columns of `row` to bind: a None is left out when the column would be NULL without it (no
    default of its own, not JSON, where None is stored as JSON ``null``)."""
    return tuple(
        name
        for name, value in row.items()
        if value is not None
        or table.c[name].default is not None
        or table.c[name].server_default is not None
        or isinstance(table.c[name].type, JSON)
    )


@functools.cache
def _opened_pg(a: tuple[str, ...], t: tuple[str, ...], c: tuple[str, ...], s: tuple[str, ...]) -> Insert:
    """PostgreSQL: the four rows in one statement (data-modifying WITH queries; the trigger's foreign
    key to its assessment is checked at the end of the statement, when both are there), binding the
    columns named (one statement per set of them, built once). Binding fewer than psycopg's 50
    parameters keeps the statement in its parse cache: with all 53 columns bound it was parsed again
    on every event (0.3 ms of CPU each)."""
    new_assessment = insert(ASSESSMENT).values(_values(ASSESSMENT, "a_", a)).returning(ASSESSMENT.c.id)
    return (
        insert(STATUS_CHANGE)
        .values(_values(STATUS_CHANGE, "s_", s))
        .add_cte(
            new_assessment.cte("new_assessment"),
            insert(TRIGGER).values(_values(TRIGGER, "t_", t)).returning(TRIGGER.c.id).cte("new_trigger"),
            insert(CASE).values(_values(CASE, "c_", c)).returning(CASE.c.id).cte("new_case"),
        )
    )


def insert_opened(
    conn: Connection,
    assessment: dict[str, Any],
    trigger: dict[str, Any],
    case: dict[str, Any],
    status_change: dict[str, Any],
) -> None:
    """A new person's assessment (already naming its case), its first trigger, the candidate case and
    the case's first status: the person is new, so neither the open assessment's nor the active case's
    unique key can conflict. One statement on PostgreSQL, four on SQLite."""
    if conn.dialect.name == "postgresql":
        rows = ((ASSESSMENT, "a_", assessment), (TRIGGER, "t_", trigger), (CASE, "c_", case))
        bound: list[tuple[str, ...]] = []
        params: dict[str, Any] = {}
        for table, prefix, row in (*rows, (STATUS_CHANGE, "s_", status_change)):
            names = _bound(table, row)
            bound.append(names)
            params |= {f"{prefix}{k}": row[k] for k in names}
        conn.execute(_opened_pg(*bound), params)
        return
    conn.execute(_INSERT_ASSESSMENT, assessment)
    conn.execute(_INSERT_TRIGGER, trigger)
    conn.execute(_INSERT_CASE, case)
    conn.execute(_INSERT_STATUS_CHANGE, status_change)
