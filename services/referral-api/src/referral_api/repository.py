"""Every query of the referral-api (plain functions taking the session; nothing else builds SQL)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from hhpu_shared.db import in_list
from hhpu_shared.protection import marked_clause
from sqlalchemy import (
    Date,
    Row,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    not_,
    null,
    or_,
    true,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col, select

from referral_api.domain.matching import REFERRAL_PERSON_PREFIX, partial_dobs
from referral_api.models import (
    Agency,
    ApiKey,
    IdempotencyRecord,
    KnownPerson,
    KnownPersonKey,
    MatchReview,
    Referral,
    StatusHistory,
    WebhookAttempt,
)
from referral_api.repository_intake import agency_and_claim as agency_and_claim
from referral_api.repository_intake import agency_brief as agency_brief
from referral_api.repository_intake import insert_history as insert_history
from referral_api.repository_intake import insert_history_and_known_person as insert_history_and_known_person
from referral_api.repository_intake import insert_known_person as insert_known_person
from referral_api.repository_intake import insert_name_keys as insert_name_keys
from referral_api.repository_intake import insert_new as insert_new
from referral_api.repository_status import agencies_with_webhook as agencies_with_webhook
from referral_api.repository_status import move_status as move_status
from referral_api.repository_status import status_for_update as status_for_update
from referral_api.repository_status import touch_referral as touch_referral
from referral_api.repository_status import webhook_target as webhook_target


# -- agencies and keys ---------------------------------------------------------------------------
def get_agency(session: Session, agency_id: str) -> Agency | None:
    return session.get(Agency, agency_id)


def agency_by_name(session: Session, name: str) -> Agency | None:
    return session.exec(select(Agency).where(func.lower(Agency.name) == name.lower())).first()


def list_agencies(session: Session, *, limit: int, offset: int) -> tuple[list[Agency], int]:
    total = session.exec(select(func.count()).select_from(Agency)).one()
    rows = session.exec(select(Agency).order_by(col(Agency.name)).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def get_key(session: Session, key_id: str) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def keys_of(session: Session, agency_id: str, *, limit: int, offset: int) -> tuple[list[ApiKey], int]:
    cond = ApiKey.agency_id == agency_id
    total = session.exec(select(func.count()).select_from(ApiKey).where(cond)).one()
    stmt = (
        select(ApiKey)
        .where(cond)
        .order_by(col(ApiKey.created_at), col(ApiKey.id))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(stmt).all()), int(total)


# -- referrals -------------------------------------------------------------------------------------
def get_referral(session: Session, referral_id: str, *, for_update: bool = False) -> Referral | None:
    stmt = select(Referral).where(Referral.id == referral_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def referral_by_partner_reference(session: Session, agency_id: str, reference: str) -> Referral | None:
    stmt = select(Referral).where(Referral.agency_id == agency_id, Referral.partner_reference == reference)
    return session.exec(stmt).first()


def list_referrals(
    session: Session,
    *,
    agency_id: str | None,
    status: str | None,
    domain: str | None,
    submitted_from: date | None,
    submitted_to: date | None,
    limit: int,
    offset: int,
) -> tuple[list[Referral], int]:
    conds: list[Any] = []
    if agency_id is not None:
        conds.append(Referral.agency_id == agency_id)
    if status is not None:
        conds.append(Referral.status == status)
    if domain is not None:
        conds.append(col(Referral.domains_key).contains(f",{domain},"))
    if submitted_from is not None:
        conds.append(col(Referral.submitted_at) >= _midnight(submitted_from))
    if submitted_to is not None:
        conds.append(col(Referral.submitted_at) < _midnight(submitted_to + timedelta(days=1)))
    total = session.exec(select(func.count()).select_from(Referral).where(*conds)).one()
    stmt = (
        select(Referral)
        .where(*conds)
        .order_by(col(Referral.submitted_at).desc(), col(Referral.id))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(stmt).all()), int(total)


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def history_of(session: Session, referral_id: str) -> list[StatusHistory]:
    stmt = (
        select(StatusHistory)
        .where(StatusHistory.referral_id == referral_id)
        .order_by(col(StatusHistory.at), col(StatusHistory.id))
    )
    return list(session.exec(stmt).all())


_KP = KnownPerson.__table__  # type: ignore[attr-defined]
_KPK = KnownPersonKey.__table__  # type: ignore[attr-defined]


# -- idempotency -----------------------------------------------------------------------------------
def idempotency_record(session: Session, agency_id: str, key: str) -> IdempotencyRecord | None:
    stmt = select(IdempotencyRecord).where(
        IdempotencyRecord.agency_id == agency_id, IdempotencyRecord.key == key
    )
    return session.exec(stmt).first()


# -- known people and reviews ----------------------------------------------------------------------
_CANDIDATE_COLUMNS = tuple(
    _KP.c[name]
    for name in (
        "person_ref",
        "given_name",
        "family_name",
        "middle_names",
        "aliases",
        "date_of_birth",
        "pnc_number",
        "records_id",
    )
)
# The references a known person's restriction or erasure mark may be under: the person reference (a
# referral's own subject without its prefix) and the records id (as `service.matching._references`).
_OWN_REF = case(
    (
        _KP.c.person_ref.startswith(REFERRAL_PERSON_PREFIX),
        func.substr(_KP.c.person_ref, len(REFERRAL_PERSON_PREFIX) + 1),
    ),
    else_=_KP.c.person_ref,
)


def _candidate_columns(dialect: str) -> tuple[Any, ...]:
    """The candidates' columns and ``marked``: on PostgreSQL whether any of the person's references
    carries a mark (`marked_clause`); elsewhere NULL, to be asked apart (`protection.marks`)."""
    if dialect == "postgresql":
        return (*_CANDIDATE_COLUMNS, marked_clause(_OWN_REF, _KP.c.records_id).label("marked"))
    return (*_CANDIDATE_COLUMNS, null().label("marked"))


def _on_partial_dates(by_name: Any, dialect: str) -> Any:
    """`by_name` (people with one of the name keys) narrowed to the ``partial`` birth dates. On
    PostgreSQL one index seek per date (a lateral subquery kept from being flattened by ``OFFSET 0``):
    asked for ``date_of_birth = ANY(...)``, the planner seeks the key alone and filters every row of a
    common key on the table (235 heap pages for one key of a million people)."""
    if dialect != "postgresql":
        return by_name.where(in_list(_KPK.c.date_of_birth, "partial", Date, dialect))
    dates = func.unnest(bindparam("partial", type_=ARRAY(Date))).table_valued("d").render_derived("p")
    seek = by_name.where(_KPK.c.date_of_birth == dates.c.d).offset(0).lateral("k")
    return select(seek.c.person_id).select_from(dates).join(seek, true())


@functools.cache
def _candidates_stmt(dialect: str, names: bool, dob: bool, pnc: bool, records_id: bool, limit: int) -> Any:
    """The lookup of one shape (which blocking keys the subject has), built once per shape.

    The people born on the subject's date are read directly (one index range, no second lookup
    by id); every other branch gives ids, read once each, of people born on another date or none,
    so the two parts never hold the same person."""
    branches: list[Any] = []
    if names:
        by_name = select(_KPK.c.person_id).where(in_list(_KPK.c.key, "keys", String, dialect))
        if not dob:
            branches.append(by_name)
        else:  # a name agreement counts with a missing or partial birth date (exact is the next part)
            branches.append(by_name.where(_KPK.c.date_of_birth.is_(None)))
            branches.append(_on_partial_dates(by_name, dialect))
    if pnc:
        branches.append(select(_KP.c.id).where(_KP.c.pnc_number == bindparam("pnc")))
    if records_id:
        branches.append(select(_KP.c.id).where(_KP.c.records_id == bindparam("records_id")))
    parts: list[Any] = []
    if dob:
        parts.append(select(*_candidate_columns(dialect)).where(_KP.c.date_of_birth == bindparam("dob")))
    if branches:
        ids = union(*branches).subquery() if len(branches) > 1 else branches[0].subquery()
        rest = select(*_candidate_columns(dialect)).where(_KP.c.id.in_(select(ids.c[0])))
        if dob:
            rest = rest.where(or_(_KP.c.date_of_birth.is_(None), _KP.c.date_of_birth != bindparam("dob")))
        parts.append(rest)
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0].limit(limit)
    return union_all(*parts).limit(limit)


def candidate_people(
    session: Session,
    *,
    dob: date | None,
    pnc: str | None,
    records_id: str | None,
    name_keys: Sequence[str],
    limit: int = 500,
) -> list[Row[Any]]:
    """Known people sharing a blocking key with the subject (identifier, birth date or name keys):
    rows of the columns matching needs (``person_ref``, names, aliases, birth date, identifiers).

    Each branch is an index lookup returning the people who could be graded above ``none`` (see
    ``domain.matching.name_keys``), so the cost does not follow the number of known people.
    """
    keys = sorted(set(name_keys))
    conn = session.connection()
    shape = (bool(keys), dob is not None, bool(pnc), bool(records_id))
    stmt = _candidates_stmt(conn.dialect.name, *shape, limit)
    if stmt is None:
        return []
    params: dict[str, Any] = {"keys": keys, "dob": dob, "pnc": pnc, "records_id": records_id}
    if keys and dob is not None:
        params["partial"] = list(partial_dobs(dob))
    return list(conn.execute(stmt, params).all())


def replace_name_keys(session: Session, person_id: int, keys: Sequence[str], dob: date | None) -> None:
    """Set a known person's name keys (Core statements: no objects to track)."""
    session.execute(delete(KnownPersonKey).where(col(KnownPersonKey.person_id) == person_id))
    insert_name_keys(session, person_id, keys, dob)


def known_person_by_source(session: Session, source: str, source_id: str) -> KnownPerson | None:
    stmt = select(KnownPerson).where(KnownPerson.source == source, KnownPerson.source_id == source_id)
    return session.exec(stmt).first()


def known_person_by_ref(
    session: Session, person_ref: str, *, not_referral: str | None = None
) -> KnownPerson | None:
    """The newest record known under `person_ref`; `not_referral` leaves out that referral's own record
    (once a match is confirmed it carries the same ref, but it is the referral, not the candidate)."""
    stmt = select(KnownPerson).where(KnownPerson.person_ref == person_ref)
    if not_referral is not None:
        own = and_(col(KnownPerson.source) == "referral", col(KnownPerson.source_id) == not_referral)
        stmt = stmt.where(not_(own))
    stmt = stmt.order_by(col(KnownPerson.updated_at).desc())
    return session.exec(stmt).first()


def get_review(session: Session, review_id: str, *, for_update: bool = False) -> MatchReview | None:
    stmt = select(MatchReview).where(MatchReview.id == review_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.exec(stmt).first()


def reviews_of(session: Session, referral_id: str) -> list[MatchReview]:
    stmt = select(MatchReview).where(MatchReview.referral_id == referral_id).order_by(col(MatchReview.score))
    return list(session.exec(stmt).all())


def list_reviews(
    session: Session, *, status: str | None, limit: int, offset: int
) -> tuple[list[MatchReview], int]:
    conds: list[Any] = [MatchReview.status == status] if status else []
    total = session.exec(select(func.count()).select_from(MatchReview).where(*conds)).one()
    stmt = (
        select(MatchReview)
        .where(*conds)
        .order_by(col(MatchReview.created_at), col(MatchReview.id))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(stmt).all()), int(total)


# -- webhook delivery history ---------------------------------------------------------------------
def webhook_attempts(
    session: Session, *, agency_id: str, referral_id: str | None, limit: int, offset: int
) -> tuple[list[WebhookAttempt], int]:
    conds: list[Any] = [WebhookAttempt.agency_id == agency_id]
    if referral_id is not None:
        conds.append(WebhookAttempt.referral_id == referral_id)
    total = session.exec(select(func.count()).select_from(WebhookAttempt).where(*conds)).one()
    stmt = (
        select(WebhookAttempt)
        .where(*conds)
        .order_by(col(WebhookAttempt.at).desc(), col(WebhookAttempt.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(stmt).all()), int(total)


# -- data protection (subject access and erasure, by reference) -----------------------------------
def referrals_by_ids(session: Session, ids: Sequence[str]) -> list[Referral]:
    return list(session.exec(select(Referral).where(col(Referral.id).in_(ids))).all())


def history_of_referrals(session: Session, ids: Sequence[str]) -> list[StatusHistory]:
    return list(session.exec(select(StatusHistory).where(col(StatusHistory.referral_id).in_(ids))).all())


def reviews_of_referrals(session: Session, ids: Sequence[str]) -> list[MatchReview]:
    return list(session.exec(select(MatchReview).where(col(MatchReview.referral_id).in_(ids))).all())


def _known_people_of(person_refs: Sequence[str], records_ids: Sequence[str]) -> Any:
    return or_(col(KnownPerson.person_ref).in_(person_refs), col(KnownPerson.records_id).in_(records_ids))


def known_people_of(
    session: Session, person_refs: Sequence[str], records_ids: Sequence[str]
) -> list[KnownPerson]:
    """The known-person records with one of these person references or records ids."""
    return list(session.exec(select(KnownPerson).where(_known_people_of(person_refs, records_ids))).all())


def delete_known_people(session: Session, person_refs: Sequence[str], records_ids: Sequence[str]) -> int:
    stmt = delete(KnownPerson).where(_known_people_of(person_refs, records_ids))
    return int(session.exec(stmt).rowcount)


def delete_idempotency_records(session: Session, referral_ids: Sequence[str]) -> int:
    stmt = delete(IdempotencyRecord).where(col(IdempotencyRecord.referral_id).in_(referral_ids))
    return int(session.exec(stmt).rowcount)
