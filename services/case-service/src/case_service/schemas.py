"""API models (pydantic 2): XCreate / XUpdate / XPublic; lists are ``hhpu_shared.http.Page[XPublic]``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from hhpu_shared.events.contracts.case import IdentifiedBy
from hhpu_shared.events.contracts.common import Cohort, Decision, Urgency
from hhpu_shared.fields import BirthDate, Line, LineCheck, PlanDate, Text
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints, model_validator

from case_service.domain.lifecycle import CaseStatus

# Cohort, Decision and IdentifiedBy travel in events: defined once, in the contracts.
SubjectCategory = Literal["suspect", "convicted", "victim", "witness", "other"]
Alias = Annotated[str, StringConstraints(min_length=1, max_length=200), LineCheck]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PersonCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"given_name": "Dean", "family_name": "Marsh", "date_of_birth": "1991-03-14"}]
        },
    )
    given_name: Line = Field(min_length=1, max_length=100)
    family_name: Line = Field(min_length=1, max_length=100)
    middle_names: Line | None = Field(default=None, max_length=200)
    aliases: list[Alias] = Field(default_factory=list, max_length=20)
    date_of_birth: BirthDate | None = None
    pnc_number: Line | None = Field(default=None, max_length=20)
    records_id: Line | None = Field(default=None, max_length=64)
    area: Line | None = Field(default=None, max_length=64)


class PersonUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"family_name": "Marsh", "aliases": ["Deano"], "date_of_birth": "1991-04-12", "area": "north"}
            ]
        },
    )
    given_name: Line | None = Field(default=None, min_length=1, max_length=100)
    family_name: Line | None = Field(default=None, min_length=1, max_length=100)
    middle_names: Line | None = Field(default=None, max_length=200)
    aliases: list[Alias] | None = Field(default=None, max_length=20)
    date_of_birth: BirthDate | None = None
    area: Line | None = Field(default=None, max_length=64)


class IdentifierPublic(_Out):
    kind: str
    value: str
    source: str | None


class PersonHistoryPublic(_Out):
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class PersonMatch(BaseModel):
    score: float = Field(description="0..1: identifier 1.0; name 0.5 at most, plus 0.3 for the date of birth")
    reasons: list[str] = Field(examples=[["name sounds alike", "date of birth matches"]])


class PersonPublic(_Out):
    id: str
    records_id: str | None
    given_name: str
    family_name: str
    middle_names: str | None
    aliases: list[str]
    date_of_birth: date | None
    area: str | None
    merged_into: str | None
    created_at: datetime
    updated_at: datetime
    mopi_group: int = Field(description="MoPI review group: 1 (public protection) .. 4 (nothing proven)")
    mopi_review_on: date | None = Field(description="next MoPI review (none once disposed of)")
    identifiers: list[IdentifierPublic] = []
    history: list[PersonHistoryPublic] = []
    case_ids: list[str] = []
    match: PersonMatch | None = Field(default=None, description="in a search: how strongly it matched")


class MergeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"merged_person_id": "per-7f3a9c2d41b84e01"}]}
    )
    merged_person_id: Line = Field(min_length=1, max_length=32)


class CaseCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "person_id": "0f3a...",
                    "cohort": "visor",
                    "mappa_category": 1,
                    "mappa_level": 1,
                    "identified_by": "mappa",
                    "subject_category": "convicted",
                    "statutory_status": "notification_requirements",
                }
            ]
        },
    )
    person_id: Line = Field(max_length=64)
    cohort: Cohort
    mappa_category: StrictInt | None = Field(default=None, ge=1, le=4)
    mappa_level: StrictInt | None = Field(default=None, ge=1, le=3)
    identified_by: IdentifiedBy
    subject_category: SubjectCategory = "suspect"
    statutory_status: Line | None = Field(default=None, max_length=64)
    next_review_on: PlanDate | None = None


class CaseUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"cohort": "visor", "mappa_category": 1, "mappa_level": 1, "next_review_on": "2026-12-14"}
            ]
        },
    )
    cohort: Cohort | None = None
    mappa_category: StrictInt | None = Field(default=None, ge=1, le=4)
    mappa_level: StrictInt | None = Field(default=None, ge=1, le=3)
    subject_category: SubjectCategory | None = None
    statutory_status: Line | None = Field(default=None, max_length=64)
    next_review_on: PlanDate | None = None


class TransitionRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"to": "exited", "reason_code": "risk_reduced"}]}
    )
    to: CaseStatus
    reason_code: Line | None = Field(default=None, max_length=32)
    decided_by: Line | None = Field(
        default=None,
        max_length=128,
        description="to `managed` only: who decided to adopt (recorded as the assessment's decision; "
        "supervisors and chairs only)",
    )
    reason: Text | None = Field(
        default=None, max_length=2000, description="to `managed`: the decision's reason"
    )


class AllocationRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"manager_id": "mgr-4d1c0b2e9a7f4c33", "accept_over_capacity": False}]
        },
    )
    manager_id: Line | None = Field(default=None, max_length=64, description="omit to take the suggestion")
    accept_over_capacity: StrictBool = Field(
        default=False,
        description="allocate a named manager even over her capacity (otherwise 409 over_capacity)",
    )


class StatusChangePublic(_Out):
    from_status: str | None
    to_status: str
    reason_code: str | None
    actor: str
    at: datetime


class CasePublic(_Out):
    id: str
    person_id: str
    status: str
    cohort: str
    mappa_category: int | None
    mappa_level: int | None
    identified_by: str
    statutory_status: str | None
    subject_category: str
    manager_id: str | None
    risk_band: str | None
    next_review_on: date | None
    assessment_id: str | None
    exit_reason: str | None
    adopted_on: date | None
    exited_on: date | None
    created_at: datetime
    history: list[StatusChangePublic] = []


class TriggerPublic(_Out):
    source: str
    ref: str
    origin: str | None
    detail: str | None
    urgency: str
    data: dict[str, Any]
    received_at: datetime
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = None


class DecisionPublic(_Out):
    decision: str
    decided_by: str
    recorded_by: str
    cohort: str | None
    reason: str | None
    source: str
    at: datetime


class AssessmentPublic(_Out):
    id: str
    person_id: str
    status: str
    urgency: str
    checklist: dict[str, Any]
    recommendation: str | None
    recommendation_by: str | None
    recommendation_note: str | None
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    cohort: str | None
    case_id: str | None
    opened_at: datetime
    triggers: list[TriggerPublic] = []
    decisions: list[DecisionPublic] = []


class AssessmentCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "person_id": "per-7f3a9c2d41b84e01",
                    "detail": "internal referral: domestic abuse pattern",
                    "urgency": "high",
                }
            ]
        },
    )
    person_id: Line = Field(max_length=64)
    detail: Text | None = Field(default=None, max_length=2000)
    urgency: Urgency = "normal"


class ChecklistUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"items": {"in_high_harm_scope": True}}]}
    )
    items: dict[Annotated[str, StringConstraints(max_length=64), LineCheck], StrictBool | None]


class RecommendationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"recommendation": "adopt", "note": "meets the HHPU criteria: repeat high-harm offending"}
            ]
        },
    )
    recommendation: Decision
    note: Text | None = Field(default=None, max_length=4000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"decision": "adopt", "decided_by": "DI Jane Hart", "cohort": "hhpu"}]
        },
    )
    decision: Decision
    decided_by: Line = Field(min_length=1, max_length=128, description="the named person who decided")
    cohort: Cohort | None = None
    reason: Text | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _reason_for_decline(self) -> DecisionIn:
        if self.decision == "decline" and not self.reason:
            raise ValueError("[required] a decline needs a reason")
        return self
