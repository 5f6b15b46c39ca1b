"""Tables of the case-service, on its own registry and MetaData (migrated by ``migrations/``)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from hhpu_shared.migrations import service_registry
from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

REGISTRY = service_registry("case")


class Table(SQLModel, registry=REGISTRY):
    """Base of every case-service table."""


def new_id() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


# A person known to the unit; a merged record is kept with `merged_into` set.
class Person(Table, table=True):
    __tablename__ = "case_person"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    records_id: str | None = Field(default=None, max_length=64, unique=True)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    middle_names: str | None = Field(default=None, max_length=200)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    date_of_birth: date | None = Field(default=None, index=True)
    area: str | None = Field(default=None, max_length=64)
    merged_into: str | None = Field(default=None, max_length=32, index=True)
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    # MoPI review group (1 highest .. 4) and when the record is next reviewed (none once disposed of).
    # The server defaults are the ones the MoPI revision added to fill the rows it found (dropping them
    # would make SQLite copy case_person, which the foreign keys pointing at it forbid).
    mopi_group: int = Field(default=4, sa_column_kwargs={"server_default": "4"})
    mopi_review_on: date | None = Field(default=None, index=True)
    mopi_basis: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    mopi_reviewed_on: date | None = None

    @property
    def label(self) -> str:
        return f"{self.given_name} {self.family_name}"


# An identifier of a person (records id, PNC number, a partner's reference...).
class PersonIdentifier(Table, table=True):
    __tablename__ = "case_person_identifier"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_case_identifier_kind_value"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    person_id: str = Field(foreign_key="case_person.id", index=True, max_length=32)
    kind: str = Field(max_length=32)
    value: str = Field(max_length=200)  # a partner's reference is "<agency id>/<reference>"
    # What a search compares (domain.search.identifier_key: case and separators ignored, PNC canonical)
    search_value: str | None = Field(default=None, max_length=200, index=True)
    source: str | None = Field(default=None, max_length=128)
    added_at: datetime = Field(default_factory=now)


# The keys a person search looks names up by (domain.search.name_keys): each word of the person's
# names and aliases, its sound (NYSIIS, Metaphone) and its one-letter-less spellings. Rewritten
# whenever the names change (repository: on every update of a person, erasure included). Keyed by
# person and key (its index also serves the rewrite's delete by person); a lookup by key has its own.
class PersonSearchKey(Table, table=True):
    __tablename__ = "case_person_search_key"

    person_id: str = Field(foreign_key="case_person.id", primary_key=True, max_length=32)
    key: str = Field(max_length=120, primary_key=True, index=True)


# What happened to a person record (created, changed, merged): nothing is overwritten silently.
class PersonHistory(Table, table=True):
    __tablename__ = "case_person_history"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    person_id: str = Field(index=True, max_length=32)
    at: datetime = Field(default_factory=now)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=32)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# A suitability assessment; `open_key` = person id while open, so a person has one open at most.
class Assessment(Table, table=True):
    __tablename__ = "case_assessment"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    person_id: str = Field(foreign_key="case_person.id", index=True, max_length=32)
    open_key: str | None = Field(default=None, max_length=32, unique=True)
    status: str = Field(default="open", max_length=16)  # open | decided | merged | withdrawn
    urgency: str = Field(default="normal", max_length=16)
    checklist: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    recommendation: str | None = Field(default=None, max_length=16)
    recommendation_by: str | None = Field(default=None, max_length=128)
    recommendation_note: str | None = Field(default=None, sa_column=Column(Text))
    decision: str | None = Field(default=None, max_length=16)
    decided_by: str | None = Field(default=None, max_length=128)
    decided_at: datetime | None = None
    decision_reason: str | None = Field(default=None, sa_column=Column(Text))
    cohort: str | None = Field(default=None, max_length=16)
    case_id: str | None = Field(default=None, max_length=32)
    opened_at: datetime = Field(default_factory=now, index=True)


# One reason an assessment exists; the same source reference is counted once per assessment.
class AssessmentTrigger(Table, table=True):
    __tablename__ = "case_assessment_trigger"
    __table_args__ = (UniqueConstraint("assessment_id", "source", "ref", name="uq_case_trigger_source_ref"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    # No index of its own: the unique constraint's index starts with it (one less to write per row).
    assessment_id: str = Field(foreign_key="case_assessment.id", max_length=32)
    source: str = Field(max_length=16)  # referral | ranking | manual
    ref: str = Field(max_length=128)
    origin: str | None = Field(default=None, max_length=64)  # agency id or ranking run id
    detail: str | None = Field(default=None, sa_column=Column(Text))
    urgency: str = Field(default="normal", max_length=16)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=now, index=True)
    # Its source went away (the referral was withdrawn): kept for the record, no longer counted.
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = Field(default=None, max_length=64)


# Every decision recorded on an assessment (a deferral can be followed by another decision).
class AssessmentDecision(Table, table=True):
    __tablename__ = "case_assessment_decision"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    assessment_id: str = Field(index=True, max_length=32)
    decision: str = Field(max_length=16)
    decided_by: str = Field(max_length=128)
    recorded_by: str = Field(max_length=128)
    cohort: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    source: str = Field(max_length=64)  # api | meeting:<id>
    at: datetime = Field(default_factory=now)


# A case: one person managed (or considered) in a cohort; `active_key` = person id until exit.
class Case(Table, table=True):
    __tablename__ = "case_case"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    person_id: str = Field(foreign_key="case_person.id", index=True, max_length=32)
    active_key: str | None = Field(default=None, max_length=32, unique=True)
    status: str = Field(default="candidate", max_length=20, index=True)
    cohort: str = Field(default="hhpu", max_length=16, index=True)
    mappa_category: int | None = None
    mappa_level: int | None = None
    identified_by: str = Field(max_length=32)
    statutory_status: str | None = Field(default=None, max_length=64)
    subject_category: str = Field(default="suspect", max_length=16)  # DPA 2018 s.38
    manager_id: str | None = Field(default=None, max_length=32, index=True)
    risk_band: str | None = Field(default=None, max_length=16)
    next_review_on: date | None = None
    assessment_id: str | None = Field(default=None, max_length=32)
    exit_reason: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=now)
    adopted_on: date | None = None
    exited_on: date | None = None
    updated_at: datetime = Field(default_factory=now)


class CaseStatusChange(Table, table=True):
    __tablename__ = "case_status_change"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    case_id: str = Field(index=True, max_length=32)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    reason_code: str | None = Field(default=None, max_length=32)
    actor: str = Field(max_length=128)
    at: datetime = Field(default_factory=now)


class RiskAssessment(Table, table=True):
    __tablename__ = "case_risk_assessment"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    case_id: str = Field(foreign_key="case_case.id", index=True, max_length=32)
    tool: str = Field(max_length=16)  # arms | rm2000 | iom
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    band: str = Field(max_length=16)
    assessed_by: str = Field(max_length=128)
    assessed_on: date
    next_due: date
    recorded_at: datetime = Field(default_factory=now)


# Append-only: no update, no delete; a correction is a new note pointing at the old one.
class CaseNote(Table, table=True):
    __tablename__ = "case_note"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    case_id: str = Field(foreign_key="case_case.id", index=True, max_length=32)
    kind: str = Field(max_length=16)  # fact | assessment
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=128)
    corrects_note_id: str | None = Field(default=None, max_length=32)
    at: datetime = Field(default_factory=now)


class Intervention(Table, table=True):
    __tablename__ = "case_intervention"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    case_id: str = Field(foreign_key="case_case.id", index=True, max_length=32)
    code: str = Field(max_length=64, index=True)
    category: str = Field(max_length=16)
    cohort: str = Field(max_length=16)  # the case's cohort when recorded (for the evaluation)
    agency: str = Field(max_length=64)
    started_on: date | None = None
    ended_on: date | None = None
    status: str = Field(default="active", max_length=16)
    outcome: str | None = Field(default=None, sa_column=Column(Text))
    recorded_by: str = Field(max_length=128)
    recorded_at: datetime = Field(default_factory=now)


class Manager(Table, table=True):
    __tablename__ = "case_manager"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    staff_id: str = Field(max_length=128, unique=True)
    name: str = Field(max_length=200)
    capacity_points: float = 30.0
    active: bool = True
    created_at: datetime = Field(default_factory=now)


class TrainingRecord(Table, table=True):
    __tablename__ = "case_training"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    manager_id: str = Field(foreign_key="case_manager.id", index=True, max_length=32)
    course: str = Field(max_length=32)
    completed_on: date
    expires_on: date | None = None
    recorded_by: str = Field(max_length=128)


class Allocation(Table, table=True):
    __tablename__ = "case_allocation"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    case_id: str = Field(index=True, max_length=32)
    manager_id: str = Field(max_length=32)
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    allocated_by: str = Field(max_length=128)
    at: datetime = Field(default_factory=now)


# One MoPI review decision on a person (retain or dispose): who, when, why, the group and the dates.
class RetentionReview(Table, table=True):
    __tablename__ = "case_retention_review"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    person_id: str = Field(index=True, max_length=32)
    decision: str = Field(max_length=16)  # retain | dispose
    reason_code: str = Field(max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    mopi_group: int
    previous_review_on: date | None = None
    next_review_on: date | None = None
    decided_by: str = Field(max_length=128)
    decision_id: str | None = Field(default=None, max_length=64)  # the erasure decision of a disposal
    at: datetime = Field(default_factory=now)
