"""Tables of the referral-api, on its own registry and MetaData (migrated by ``migrations/``).

Every table name starts with ``ref_``."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from hhpu_shared.migrations import service_registry
from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

REGISTRY = service_registry("referral")


class Table(SQLModel, registry=REGISTRY):
    """Base of every referral-api table."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


# A partner agency: who may refer, and where its webhooks go.
class Agency(Table, table=True):
    __tablename__ = "ref_agency"

    id: str = Field(default_factory=new_uuid, primary_key=True, max_length=36)
    name: str = Field(max_length=200, unique=True)
    agency_type: str = Field(max_length=64)
    contact_name: str = Field(max_length=200)
    contact_email: str | None = Field(default=None, max_length=254)
    contact_phone: str | None = Field(default=None, max_length=40)
    active: bool = True
    webhook_url: str | None = Field(default=None, max_length=500)
    webhook_secret: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=now_utc)
    updated_at: datetime = Field(default_factory=now_utc)


# An API key of an agency: only the SHA-256 of its secret part is stored.
class ApiKey(Table, table=True):
    __tablename__ = "ref_api_key"

    id: str = Field(primary_key=True, max_length=32)
    agency_id: str = Field(foreign_key="ref_agency.id", index=True, max_length=36)
    label: str | None = Field(default=None, max_length=100)
    secret_hash: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=now_utc)
    created_by: str = Field(max_length=128)
    revoked_at: datetime | None = None
    revoked_by: str | None = Field(default=None, max_length=128)
    replaced_by: str | None = Field(default=None, max_length=32)


# A referral: the subject, the concern and where it stands.
class Referral(Table, table=True):
    __tablename__ = "ref_referral"
    __table_args__ = (UniqueConstraint("agency_id", "partner_reference", name="uq_ref_referral_partner_ref"),)

    id: str = Field(default_factory=new_uuid, primary_key=True, max_length=36)
    # No index of its own: the unique constraint's index starts with it (one less to write per row).
    agency_id: str = Field(foreign_key="ref_agency.id", max_length=36)
    partner_reference: str | None = Field(default=None, max_length=100)
    status: str = Field(index=True, max_length=32)
    status_reason: str | None = Field(default=None, max_length=64)
    outcome_note: str | None = Field(default=None, max_length=2000)
    # Subject columns used by queries; the full validated submission is in `payload`.
    subject_given_name: str = Field(max_length=100)
    subject_family_name: str = Field(max_length=100)
    subject_dob: date | None = None
    domains_key: str = Field(max_length=300, description="',domestic_abuse,stalking,' for filtering")
    urgency: str = Field(max_length=16)
    route: str = Field(max_length=32)
    statutory_status: str = Field(max_length=32)
    legal_gateway: str = Field(max_length=32)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    eligible: bool | None = None
    screening_reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    match_grade: str | None = Field(default=None, max_length=16)
    matched_person_ref: str | None = Field(default=None, max_length=128)
    submitted_by: str = Field(max_length=128)
    submitted_at: datetime = Field(default_factory=now_utc, index=True)
    updated_at: datetime = Field(default_factory=now_utc)


# Every status a referral has had, with who moved it and why.
class StatusHistory(Table, table=True):
    __tablename__ = "ref_status_history"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    referral_id: str = Field(foreign_key="ref_referral.id", index=True, max_length=36)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str = Field(max_length=32)
    reason_code: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=2000)
    actor: str = Field(max_length=128)
    at: datetime = Field(default_factory=now_utc)


# The stored response of a POST made with an Idempotency-Key (replayed on a retry).
class IdempotencyRecord(Table, table=True):
    __tablename__ = "ref_idempotency"
    __table_args__ = (UniqueConstraint("agency_id", "key", name="uq_ref_idempotency_key"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    agency_id: str = Field(max_length=36)
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    referral_id: str = Field(max_length=36)
    status_code: int
    response_body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=now_utc)


# Someone the unit already knows: a subject of an earlier referral or a ranking candidate.
class KnownPerson(Table, table=True):
    __tablename__ = "ref_known_person"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_ref_known_person_source"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    person_ref: str = Field(index=True, max_length=128)
    source: str = Field(max_length=16)  # "referral" | "ranking"
    source_id: str = Field(max_length=128)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    middle_names: str | None = Field(default=None, max_length=200)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    date_of_birth: date | None = Field(default=None, index=True)
    pnc_number: str | None = Field(default=None, index=True, max_length=20)
    records_id: str | None = Field(default=None, index=True, max_length=64)
    area: str | None = Field(default=None, max_length=100)
    updated_at: datetime = Field(default_factory=now_utc)


# A name blocking key of a known person ('D500:M620', see domain.matching.name_keys) with the person's
# birth date, indexed together so the candidate lookup costs the same with ten thousand or a million
# known people.
class KnownPersonKey(Table, table=True):
    __tablename__ = "ref_known_person_key"
    __table_args__ = (Index("ix_ref_known_person_key_key_dob", "key", "date_of_birth"),)

    person_id: int = Field(
        sa_column=Column(Integer, ForeignKey("ref_known_person.id", ondelete="CASCADE"), primary_key=True)
    )
    key: str = Field(primary_key=True, max_length=16)
    date_of_birth: date | None = None


# A probable or possible match waiting for (or given) a reviewer's decision.
class MatchReview(Table, table=True):
    __tablename__ = "ref_match_review"

    id: str = Field(default_factory=new_uuid, primary_key=True, max_length=36)
    referral_id: str = Field(foreign_key="ref_referral.id", index=True, max_length=36)
    candidate_person_ref: str = Field(max_length=128)
    grade: str = Field(max_length=16)
    score: float
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True, max_length=16)
    resolved_by: str | None = Field(default=None, max_length=128)
    resolved_at: datetime | None = None
    note: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=now_utc)


# One try at posting a status webhook to an agency: the delivery history partners and admins read.
# A delivery is one status event (`event_id`, also the webhook's `id`); it may take several tries.
class WebhookAttempt(Table, table=True):
    __tablename__ = "ref_webhook_attempt"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    event_id: str = Field(index=True, max_length=36)
    agency_id: str = Field(foreign_key="ref_agency.id", index=True, max_length=36)
    referral_id: str = Field(index=True, max_length=36)
    to_status: str = Field(max_length=32)
    url: str = Field(max_length=500)
    attempt: int
    at: datetime = Field(default_factory=now_utc)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    delivered: bool = False
    duration_ms: float = 0.0
