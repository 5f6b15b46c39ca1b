"""API models for referrals, their status and the match review queue (lists are ``Page[...]``)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, get_args

from hhpu_shared.events.contracts.common import HarmDomain, Urgency
from hhpu_shared.events.contracts.referral import Route, StatutoryStatus, WithdrawalReason
from hhpu_shared.fields import BirthDate, IntChoice, LineCheck, TextCheck
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

# One line (names, labels, identifiers) or free text over lines (reasons, notes): hhpu_shared.fields.
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), LineCheck]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), LineCheck]
OptText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), TextCheck]

PNC_PATTERN = re.compile(r"^(\d{2}|\d{4})/\d{1,7}[A-Z]$")
LegalGateway = Literal[
    "cda1998_s115", "cda1998_s17a", "dpa2018_part3", "pcsc2022_s16", "common_law", "consent", "other"
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Identifier(Strict):
    type: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), LineCheck]
    value: Text100


class Subject(Strict):
    """The person referred."""

    given_name: Text100
    family_name: Text100
    middle_names: Text200 | None = None
    aliases: list[Text200] = Field(default_factory=list, max_length=20)
    date_of_birth: BirthDate | None = None
    pnc_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=20), LineCheck] | None = (
        None
    )
    other_identifiers: list[Identifier] = Field(default_factory=list, max_length=10)
    area: Text100 | None = None

    @field_validator("pnc_number")
    @classmethod
    def _pnc_format(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.upper()
        if not PNC_PATTERN.match(v):
            raise ValueError("[invalid_format] A PNC number looks like 91/123456X or 1991/123456X.")
        return v


class Concern(Strict):
    """Why the agency believes the person causes or will cause serious harm."""

    domains: list[HarmDomain] = Field(min_length=1, max_length=len(get_args(HarmDomain)))
    offence_types: list[Text100] = Field(default_factory=list, max_length=20)
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), TextCheck]
    evidence_summary: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=8000), TextCheck] | None
    ) = None


class Mappa(Strict):
    category: Annotated[Literal[1, 2, 3, 4], IntChoice] | None = None
    level: Annotated[Literal[1, 2, 3], IntChoice] | None = None


class Referrer(Strict):
    """Who at the agency to contact about this referral."""

    name: Text200
    role: Text100 | None = None
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), LineCheck] | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), LineCheck] | None = None


REFERRAL_EXAMPLE: dict[str, Any] = {
    "partner_reference": "DAS-2026-0412",
    "subject": {
        "given_name": "Dean",
        "middle_names": "Jon",
        "family_name": "Marsh",
        "date_of_birth": "1991-03-14",
        "aliases": [],
        "area": "Guildford",
    },
    "concern": {
        "domains": ["domestic_abuse", "stalking"],
        "offence_types": ["controlling or coercive behaviour", "stalking"],
        "reason": "Disclosures by two former partners of coercive control and following.",
        "evidence_summary": "Key-worker notes of 3 and 17 February 2026.",
    },
    "risk_indicators": ["escalation", "separation", "multiple victims"],
    "statutory_status": "unconvicted_suspect",
    "route": "partner_referral",
    "urgency": "high",
    "legal_gateway": "cda1998_s115",
    "referrer": {"name": "A. Key-worker", "role": "Recovery worker", "email": "keyworker@das.example.org"},
}


class ReferralCreate(Strict):
    """A referral as a partner agency submits it (the agency comes from its credentials)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [REFERRAL_EXAMPLE]})

    partner_reference: Text100 | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:\-]*$")
    subject: Subject
    concern: Concern
    risk_indicators: list[Text200] = Field(default_factory=list, max_length=30)
    statutory_status: StatutoryStatus
    mappa: Mappa | None = None
    route: Route = "partner_referral"
    urgency: Urgency = "normal"
    legal_gateway: LegalGateway
    legal_gateway_detail: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), TextCheck] | None
    ) = Field(default=None, validate_default=True)
    referrer: Referrer

    @field_validator("legal_gateway_detail")
    @classmethod
    def _detail_for_other(cls, v: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("legal_gateway") == "other" and not v:
            raise ValueError("[required] Name the legal gateway when it is 'other'.")
        return v


class HistoryEntry(BaseModel):
    from_status: str | None
    to_status: str
    reason_code: str | None
    note: str | None = None
    at: datetime


class ReferralPublic(ReferralCreate):
    """A referral as stored, with where it stands (match details are shown to unit staff only)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra=None)

    id: str
    agency_id: str
    status: str
    status_reason: str | None
    eligible: bool | None
    screening_reasons: list[str]
    submitted_at: datetime
    updated_at: datetime
    match_grade: str | None = None
    matched_person_ref: str | None = None


class ReferralSummary(BaseModel):
    """One row of a referral list: no personal data, open the referral for the subject."""

    id: str
    agency_id: str
    partner_reference: str | None
    status: str
    domains: list[str]
    urgency: str
    route: str
    eligible: bool | None
    submitted_at: datetime
    updated_at: datetime


class Outcome(BaseModel):
    decided: bool
    summary: str
    reason_code: str | None
    note: str | None = None


class ReferralStatusPublic(BaseModel):
    """What became of a referral, for the referring agency."""

    referral_id: str
    partner_reference: str | None
    status: str
    eligible: bool | None
    reasons: list[str]
    outcome: Outcome
    history: list[HistoryEntry]


class WithdrawRequest(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason_code": "no_longer_required"}]}
    )

    reason_code: WithdrawalReason
    note: OptText | None = None


class KnownPersonPublic(BaseModel):
    person_ref: str
    source: str
    given_name: str
    middle_names: str | None
    family_name: str
    aliases: list[str]
    date_of_birth: date | None
    pnc_number: str | None
    records_id: str | None
    area: str | None


class MatchReviewPublic(BaseModel):
    """A probable or possible match, with both sides for the reviewer to compare."""

    id: str
    referral_id: str
    grade: str
    score: float
    reasons: list[str]
    status: str
    resolved_by: str | None
    resolved_at: datetime | None
    note: str | None
    created_at: datetime
    subject: Subject
    candidate: KnownPersonPublic | None


class ReviewDecision(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"note": "same date of birth and address; John is the recorded name"}]
        }
    )

    note: OptText | None = None
