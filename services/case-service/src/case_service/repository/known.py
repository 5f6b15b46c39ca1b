"""A referral or ranking candidate about a person the unit already knows, in plain Core statements
built once (as ``repository.newcomers`` for a new person): one read of what the event needs (the
person with their mark, open assessment, every trigger of theirs, their cases and their risk tools),
then each kind of row in one statement, and the changed rows' fields in one statement on PostgreSQL.

Run on the session's connection, so they belong to its transaction (and a consumer batch's savepoint).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hhpu_shared.protection import person_key
from sqlalchemy import JSON, Connection, Insert, Table, bindparam, func, insert, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from case_service.models import RiskAssessment
from case_service.repository.newcomers import (
    ASSESSMENT,
    CASE,
    MARK,
    PERSON,
    STATUS_CHANGE,
    TRIGGER,
    _table,
    _values,
)

RISK = _table(RiskAssessment)


@dataclass(frozen=True)
class KnownCase:
    """One of the person's cases (what the MoPI facts and a referral's statutory status need)."""

    id: str
    active: bool
    cohort: str
    mappa_category: int | None
    subject_category: str
    statutory_status: str | None


@dataclass(frozen=True)
class KnownTrigger:
    assessment_id: str
    source: str
    data: dict[str, Any]
    counted: bool  # not withdrawn


@dataclass
class Known:
    """What one read tells about a known person."""

    id: str
    records_id: str | None
    given_name: str
    family_name: str
    date_of_birth: date | None
    merged_into: str | None
    mopi_group: int
    mopi_basis: list[str]
    mopi_review_on: date | None
    mark: str | None
    open_assessment: str | None
    open_urgency: str | None
    triggers: list[KnownTrigger] = field(default_factory=list)  # of every assessment of theirs
    cases: list[KnownCase] = field(default_factory=list)
    risk_tools: set[str] = field(default_factory=set)

    @property
    def active_case(self) -> KnownCase | None:
        return next((c for c in self.cases if c.active), None)


_P = PERSON.c


@functools.cache
def _context(dialect: str) -> Any:
    """The person, their mark, open assessment, cases with their risk tools (a row per case and
    tool), and every trigger of theirs aggregated in one JSON array (a correlated subquery)."""
    t, a = TRIGGER.alias("any_trigger"), ASSESSMENT.alias("any_assessment")
    unwithdrawn = t.c.withdrawn_at.is_(None)
    if dialect == "postgresql":
        agg = func.json_agg(func.json_build_array(t.c.assessment_id, t.c.source, t.c.data, unwithdrawn))
    else:
        item = func.json_array(t.c.assessment_id, t.c.source, func.json(t.c.data), unwithdrawn)
        agg = func.json_group_array(item)
    triggers = (
        select(agg).select_from(t.join(a, a.c.id == t.c.assessment_id)).where(a.c.person_id == _P.id)
    ).scalar_subquery()
    return (
        select(
            _P.id,
            _P.records_id,
            _P.given_name,
            _P.family_name,
            _P.date_of_birth,
            _P.merged_into,
            _P.mopi_group,
            _P.mopi_basis,
            _P.mopi_review_on,
            MARK.c.state,
            ASSESSMENT.c.id,
            ASSESSMENT.c.urgency,
            type_coerce(triggers, JSON),
            CASE.c.id,
            CASE.c.active_key,
            CASE.c.cohort,
            CASE.c.mappa_category,
            CASE.c.subject_category,
            CASE.c.statutory_status,
            RISK.c.tool,
        )  # fmt: skip
        .select_from(
            PERSON.outerjoin(MARK, MARK.c.person_key == bindparam("key"))
            .outerjoin(ASSESSMENT, ASSESSMENT.c.open_key == _P.id)
            .outerjoin(CASE, CASE.c.person_id == _P.id)
            .outerjoin(RISK, RISK.c.case_id == CASE.c.id)
        )
        .where(_P.id == bindparam("person_id"))
        .order_by(CASE.c.created_at, CASE.c.id)
    )


def known_person(conn: Connection, person_id: str) -> Known | None:
    """The person with their mark, open assessment, triggers and cases (with their risk tools)."""
    stmt = _context(conn.dialect.name)
    rows = conn.execute(stmt, {"key": person_key(person_id), "person_id": person_id}).all()
    if not rows:
        return None
    first = rows[0]
    out = Known(*first[:12])
    out.mopi_basis = list(out.mopi_basis or [])
    out.triggers = [
        KnownTrigger(a, source, data, bool(counted)) for a, source, data, counted in first[12] or ()
    ]
    seen: set[str] = set()
    for row in rows:
        case_id, active_key, cohort, mappa, category, statutory, tool = row[13:]
        if case_id is not None and case_id not in seen:
            seen.add(case_id)
            out.cases.append(KnownCase(case_id, active_key is not None, cohort, mappa, category, statutory))
        if tool is not None:
            out.risk_tools.add(tool)
    return out


@functools.cache
def _if_absent(table: Table, conflict: tuple[str, ...], dialect: str) -> Insert:
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    return ins(table).on_conflict_do_nothing(index_elements=list(conflict)).returning(table.c.id)


def insert_trigger(conn: Connection, row: dict[str, Any]) -> bool:
    """The trigger unless the assessment counts that source reference already (False: nothing written)."""
    stmt = _if_absent(TRIGGER, ("assessment_id", "source", "ref"), conn.dialect.name)
    return conn.execute(stmt, row).first() is not None


def insert_assessment(conn: Connection, row: dict[str, Any]) -> bool:
    """A new open assessment unless the person has one already (a concurrent event opened it)."""
    stmt = _if_absent(ASSESSMENT, ("open_key",), conn.dialect.name)
    return conn.execute(stmt, row).first() is not None


# PostgreSQL: a new case and its first status in one statement (SQLite: two).
_CASE_PG = (
    insert(STATUS_CHANGE)
    .values(_values(STATUS_CHANGE, "s_"))
    .add_cte(insert(CASE).values(_values(CASE, "c_")).returning(CASE.c.id).cte("new_case"))
)
_INSERT_CASE, _INSERT_STATUS_CHANGE = insert(CASE), insert(STATUS_CHANGE)


def insert_case(conn: Connection, case: dict[str, Any], status_change: dict[str, Any]) -> None:
    """A new candidate case and its first status (a concurrent active case raises: the event is
    retried, and finds it)."""
    if conn.dialect.name == "postgresql":
        params = {f"c_{k}": v for k, v in case.items()} | {f"s_{k}": v for k, v in status_change.items()}
        conn.execute(_CASE_PG, params)
        return
    conn.execute(_INSERT_CASE, case)
    conn.execute(_INSERT_STATUS_CHANGE, status_change)


# The fields a known person's event may change, each row by its id.
_FIELDS: dict[str, tuple[Table, tuple[str, ...]]] = {
    "assessment": (ASSESSMENT, ("urgency",)),
    "case": (CASE, ("statutory_status", "subject_category")),
    "person": (PERSON, ("mopi_group", "mopi_basis", "mopi_review_on")),
}


def _update(kind: str, prefix: str) -> Any:
    table, names = _FIELDS[kind]
    values = {n: bindparam(f"{prefix}{n}", type_=table.c[n].type) for n in names}
    return update(table).where(table.c.id == bindparam(f"{prefix}id")).values(values)


@functools.cache
def _updates_pg(kinds: tuple[str, ...]) -> Any:
    """PostgreSQL: the rows of `kinds` updated in one statement (data-modifying WITH queries)."""
    *first, last = kinds
    stmt = _update(last, f"u_{last}_")
    ctes = [_update(k, f"u_{k}_").returning(_FIELDS[k][0].c.id).cte(f"changed_{k}") for k in first]
    return stmt.add_cte(*ctes) if ctes else stmt


@functools.cache
def _update_one(kind: str) -> Any:
    return _update(kind, f"u_{kind}_")


def update_rows(conn: Connection, changes: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Set each changed row's fields (`kind` in assessment, case, person; the values with `id`): one
    statement on PostgreSQL, one per row on SQLite."""
    if not changes:
        return
    params = {f"u_{kind}_{k}": v for kind, values in changes for k, v in values.items()}
    if conn.dialect.name == "postgresql":
        conn.execute(_updates_pg(tuple(kind for kind, _ in changes)), params)
        return
    for kind, _ in changes:
        conn.execute(_update_one(kind), params)
