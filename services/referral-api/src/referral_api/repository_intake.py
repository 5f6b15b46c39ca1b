"""The intake's statements (``service.intake``): Core only, built once, run on the session's
connection, so no ORM objects, no autoflush and no statement compiled again per request. Where
PostgreSQL allows, several writes are one statement (data-modifying CTEs); other databases run them
one by one. Re-exported by ``repository``."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import Any

from hhpu_shared.db import insert_if_absent, insert_rows, rows_param, rows_select
from hhpu_shared.deferred import defer_rows
from sqlalchemy import ARRAY, Date, Row, String, bindparam, func, insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session, select

from referral_api.models import (
    Agency,
    IdempotencyRecord,
    KnownPerson,
    KnownPersonKey,
    MatchReview,
    StatusHistory,
)


def insert_new(session: Session, model: Any, values: dict[str, Any], conflict: Sequence[str]) -> Any | None:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING RETURNING id, in one statement without a savepoint.

    Returns the new row's id, or None when a row with the same `conflict` columns exists (on
    PostgreSQL a concurrent insert of the same values waits for the other transaction first).
    """
    conn = session.connection()
    stmt = insert_if_absent(model.__table__, tuple(conflict), conn.dialect.name)
    return conn.execute(stmt, values).scalar_one_or_none()


_AGENCY = Agency.__table__  # type: ignore[attr-defined]
_AGENCY_BRIEF: Any = select(_AGENCY.c.name, _AGENCY.c.active).where(_AGENCY.c.id == bindparam("agency_id"))
_REVIEWS = MatchReview.__table__  # type: ignore[attr-defined]
_KP = KnownPerson.__table__  # type: ignore[attr-defined]
_HIST = StatusHistory.__table__  # type: ignore[attr-defined]
_KPK = KnownPersonKey.__table__  # type: ignore[attr-defined]
_INSERT_KNOWN = insert(_KP).returning(_KP.c.id)


def agency_brief(session: Session, agency_id: str) -> Row[Any] | None:
    """The agency's name and whether it is active (one Core read; no object in the session)."""
    return session.connection().execute(_AGENCY_BRIEF, {"agency_id": agency_id}).first()


_IDEM = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_CLAIM_COLUMNS = (
    "agency_id",
    "key",
    "request_hash",
    "referral_id",
    "status_code",
    "response_body",
    "created_at",
)


@functools.cache
def _agency_and_claim_stmt() -> Any:
    """PostgreSQL: the agency's brief and, when it is active, the Idempotency-Key's claim
    (``INSERT ... ON CONFLICT DO NOTHING RETURNING``, as `insert_new`) in one statement. Built once."""
    agency = (
        select(_AGENCY.c.name, _AGENCY.c.active).where(_AGENCY.c.id == bindparam("agency_id")).cte("agency")
    )
    values = select(*(bindparam(c, type_=_IDEM.c[c].type) for c in _CLAIM_COLUMNS)).where(
        select(agency.c.active).scalar_subquery()
    )
    claim = (
        pg_insert(_IDEM)
        .from_select(list(_CLAIM_COLUMNS), values)
        .on_conflict_do_nothing(index_elements=["agency_id", "key"])
        .returning(_IDEM.c.id)
        .cte("claim")
    )
    return select(agency.c.name, agency.c.active, select(claim.c.id).scalar_subquery().label("claimed"))


def agency_and_claim(session: Session, claim: dict[str, Any]) -> tuple[Row[Any] | None, bool]:
    """The agency's brief (as `agency_brief`) and whether the key in `claim` (an idempotency row's
    values) was claimed for this request: never for an unknown or inactive agency, nor when a row
    with the same agency and key exists (on PostgreSQL a concurrent claim is waited for first).
    One round trip on PostgreSQL, two elsewhere."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        agency = agency_brief(session, claim["agency_id"])
        if agency is None or not agency.active:
            return agency, False
        return agency, insert_new(session, IdempotencyRecord, claim, ("agency_id", "key")) is not None
    row = conn.execute(_agency_and_claim_stmt(), claim).first()
    return row, row is not None and row.claimed is not None


def insert_history(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Status history rows, written at the commit (``hhpu_shared.deferred``: a batch is one INSERT)."""
    defer_rows(session, _HIST, rows)


def insert_reviews(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Match reviews (one statement on PostgreSQL, however many)."""
    insert_rows(session.connection(), _REVIEWS, rows)


def insert_known_person(session: Session, values: dict[str, Any]) -> int:
    return int(session.connection().execute(_INSERT_KNOWN, values).scalar_one())


_KNOWN_COLUMNS = (
    "person_ref",
    "source",
    "source_id",
    "given_name",
    "family_name",
    "middle_names",
    "aliases",
    "date_of_birth",
    "pnc_number",
    "records_id",
    "area",
    "updated_at",
)


_HISTORY_COLUMNS = ("referral_id", "from_status", "to_status", "reason_code", "note", "actor", "at")


@functools.cache
def _insert_known_with_keys(with_reviews: bool) -> Any:
    """PostgreSQL: a referral's status history rows, its subject as a known person, the person's
    name keys and (`with_reviews`) the referral's match reviews in one statement (data-modifying
    CTEs: history and reviews from one JSON parameter each, in the order given; the keys take the new
    person's id), answering the id. Built once per shape."""
    history = (
        insert(_HIST)
        .from_select(list(_HISTORY_COLUMNS), rows_select(_HIST, _HISTORY_COLUMNS, prefix="h_"))
        .cte("h")
    )
    kp = (
        insert(_KP)
        .values({c: bindparam(c, type_=_KP.c[c].type) for c in _KNOWN_COLUMNS})
        .returning(_KP.c.id)
        .cte("kp")
    )
    keys = select(
        func.unnest(bindparam("keys", type_=ARRAY(String))), kp.c.id, bindparam("key_dob", type_=Date)
    ).select_from(kp)
    k = insert(_KPK).from_select(["key", "person_id", "date_of_birth"], keys).cte("k")
    stmt = select(kp.c.id).add_cte(history, k)
    if with_reviews:
        reviews = rows_select(_REVIEWS, _REVIEW_COLUMNS, prefix="r_")
        stmt = stmt.add_cte(insert(_REVIEWS).from_select(list(_REVIEW_COLUMNS), reviews).cte("r"))
    return stmt


_REVIEW_COLUMNS = tuple(c.name for c in _REVIEWS.columns)  # a review row gives every column


def insert_history_and_known_person(
    session: Session,
    history: Sequence[dict[str, Any]],
    values: dict[str, Any],
    keys: Sequence[str],
    dob: date | None,
    reviews: Sequence[dict[str, Any]] = (),
) -> int:
    """Status history rows (as `insert_history`), a known person (`values`: every column but the id),
    the person's name keys and match reviews (as `insert_reviews`, rows of every review column);
    returns the person's id. One round trip on PostgreSQL."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        insert_history(session, history)
        insert_reviews(session, reviews)
        person_id = insert_known_person(session, values)
        insert_name_keys(session, person_id, keys, dob)
        return person_id
    params = {c: values[c] for c in _KNOWN_COLUMNS} | {"keys": list(keys), "key_dob": dob}
    hist = [{c: row[c] for c in _HISTORY_COLUMNS} for row in history]
    params |= rows_param(_HIST, hist, conn.dialect, prefix="h_")
    if reviews:
        rows = [{c: row[c] for c in _REVIEW_COLUMNS} for row in reviews]
        params |= rows_param(_REVIEWS, rows, conn.dialect, prefix="r_")
    return int(conn.execute(_insert_known_with_keys(bool(reviews)), params).scalar_one())


def insert_name_keys(session: Session, person_id: int, keys: Sequence[str], dob: date | None) -> None:
    rows = [{"key": k, "person_id": person_id, "date_of_birth": dob} for k in keys]
    insert_rows(session.connection(), _KPK, rows)
