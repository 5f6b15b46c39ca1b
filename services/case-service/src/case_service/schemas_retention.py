"""API models of MoPI review and retention: the review queue, a decision, the review history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from hhpu_shared.fields import Line, Text
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from case_service.domain import mopi

ReviewDecision = Literal["retain", "dispose"]


class RetentionStatus(BaseModel):
    """A person's MoPI review state, as the review queue and a decision show it."""

    person_id: str
    records_id: str | None
    name: str
    date_of_birth: date | None
    mopi_group: int = Field(description="1 (public protection) .. 4 (nothing proven)")
    group_name: str
    basis: list[str] = Field(description="the facts that put the person in this group")
    review_due_on: date | None = Field(description="none once the record is disposed of")
    overdue_days: int
    last_reviewed_on: date | None
    restricted: bool = Field(description="processing restricted (s.47): reviewed, not otherwise processed")


class ReviewDecisionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "decision": "retain",
                    "reason_code": "serious_harm_capacity",
                    "reason": "Recent DVPN breach; capacity for serious harm (NRAC 1)",
                },
                {
                    "decision": "dispose",
                    "reason_code": "no_policing_purpose",
                    "reason": "Six clear years, no further concern (review ref R-2031-044)",
                },
            ]
        },
    )

    decision: ReviewDecision
    reason_code: Line = Field(
        min_length=1,
        max_length=64,
        description="retain: a National Retention Assessment Criteria code ("
        + ", ".join(mopi.RETAIN_REASONS)
        + "); dispose: "
        + ", ".join(mopi.DISPOSE_REASONS),
    )
    reason: Text = Field(
        min_length=3,
        max_length=400,
        description="why, in words (kept in the review history and the audit; no personal data)",
    )

    @field_validator("reason_code")
    @classmethod
    def _code_fits_decision(cls, value: str, info: ValidationInfo) -> str:
        decision = info.data.get("decision")
        err = mopi.reason_error(decision, value) if decision else None
        if err:
            raise ValueError(f"[invalid_choice] {err}")
        return value

    @field_validator("reason")
    @classmethod
    def _reason_in_words(cls, value: str) -> str:
        value = " ".join(value.split())
        if len(value) < 3:
            raise ValueError("[too_short] a decision gives its reason in words")
        return value


class RetentionReviewPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    person_id: str
    decision: str
    reason_code: str
    reason: str
    mopi_group: int
    previous_review_on: date | None
    next_review_on: date | None
    decided_by: str
    decision_id: str | None
    at: datetime


class ReviewOutcome(BaseModel):
    """What a decision did: the history entry and the person's state afterwards."""

    review: RetentionReviewPublic
    status: RetentionStatus
    erasure: dict[str, object] | None = Field(
        default=None, description="dispose: the erasure applied here and sent to every service"
    )
