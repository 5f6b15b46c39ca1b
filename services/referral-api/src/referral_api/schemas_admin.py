"""API models for partner agencies, their API keys and webhooks, and the gateway's key check."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from hhpu_shared.events.contracts.referral import AgencyType
from hhpu_shared.fields import LineCheck
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), LineCheck]
Scope = Literal["referrals:write", "referrals:read"]
ALL_SCOPES: tuple[Scope, ...] = ("referrals:write", "referrals:read")
URL_PATTERN = r"^https?://[^\s]+$"
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), LineCheck]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), LineCheck]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), LineCheck]


class AgencyCreate(BaseModel):
    """A partner agency with its single point of contact."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Surrey Drug and Alcohol Service",
                    "agency_type": "drug_and_alcohol_service",
                    "contact_name": "Referrals lead",
                    "contact_email": "referrals@das.example.org",
                    "webhook_url": "https://das.example.org/hhpu/webhook",
                }
            ]
        },
    )

    name: Text200
    agency_type: AgencyType
    contact_name: Text200
    contact_email: Email | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    contact_phone: Phone | None = None
    webhook_url: Url | None = Field(default=None, pattern=URL_PATTERN)


class AgencyUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "contact_name": "Priya Shah",
                    "contact_email": "priya.shah@housing.example.org",
                    "webhook_url": "https://housing.example.org/hhpu/webhook",
                }
            ]
        },
    )

    name: Text200 | None = None
    agency_type: AgencyType | None = None
    contact_name: Text200 | None = None
    contact_email: Email | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    contact_phone: Phone | None = None
    webhook_url: Url | None = Field(default=None, pattern=URL_PATTERN)


class AgencyPublic(BaseModel):
    id: str
    name: str
    agency_type: str
    contact_name: str
    contact_email: str | None
    contact_phone: str | None
    active: bool
    webhook_url: str | None
    created_at: datetime
    updated_at: datetime


class AgencyCreated(AgencyPublic):
    """The new agency; `webhook_secret` is shown only now (sign-check webhooks with it)."""

    webhook_secret: str | None = None


class WebhookSecretIssued(BaseModel):
    agency_id: str
    webhook_secret: str


class WebhookAttemptPublic(BaseModel):
    """One try at posting a status webhook (the delivery history of an agency)."""

    model_config = ConfigDict(from_attributes=True)

    event_id: str = Field(description="the webhook's `id`: the same on every try and on a replay")
    referral_id: str
    to_status: str
    url: str
    attempt: int = Field(description="1 for the first post of a delivery try")
    at: datetime
    status_code: int | None = Field(description="the receiver's answer; none on a network error")
    error: str | None
    delivered: bool
    duration_ms: float


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"label": "case system (production)"}]}
    )

    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), LineCheck] | None = None
    scopes: list[Scope] = Field(default_factory=lambda: list(ALL_SCOPES), min_length=1, max_length=2)


class ApiKeyPublic(BaseModel):
    key_id: str
    agency_id: str
    label: str | None
    scopes: list[str]
    active: bool
    created_at: datetime
    revoked_at: datetime | None
    replaced_by: str | None


class ApiKeyIssued(ApiKeyPublic):
    """The key, in full, shown once: only a hash of its secret is kept."""

    key: str


class KeyVerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(max_length=300), LineCheck]


class KeyVerifyResponse(BaseModel):
    agency_id: str
    agency_name: str
    scopes: list[str]
    key_id: str
