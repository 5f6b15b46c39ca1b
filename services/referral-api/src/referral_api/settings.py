"""Settings of the referral-api (environment prefix ``REFERRAL_``)."""

from __future__ import annotations

from typing import get_args

from hhpu_shared.events.contracts.common import HarmDomain
from hhpu_shared.settings import ServiceSettings
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

ALL_HIGH_HARM_DOMAINS: tuple[HarmDomain, ...] = get_args(HarmDomain)


class EligibilityRules(BaseModel):
    """The unit's terms of reference, as data (``REFERRAL_ELIGIBILITY='{"min_age": 18, ...}'``)."""

    domains: list[HarmDomain] = Field(
        default_factory=lambda: list(ALL_HIGH_HARM_DOMAINS),
        description="a referral is eligible when at least one of its domains is in this list",
    )
    min_age: int = Field(
        default=10, ge=0, le=120, description="age of criminal responsibility in England and Wales"
    )
    areas: list[str] = Field(default_factory=list, description="areas served; empty means every area")
    excluded_offence_types: list[str] = Field(
        default_factory=list, description="offence types the unit never takes (case-insensitive)"
    )


class ReferralSettings(ServiceSettings):  # type: ignore[misc, unused-ignore]
    model_config = SettingsConfigDict(env_prefix="REFERRAL_", extra="ignore", env_nested_delimiter="__")

    service_name: str = "referral-api"
    port: int = 8001
    eligibility: EligibilityRules = Field(default_factory=EligibilityRules)
    webhook_attempts: int = Field(
        default=3, ge=1, le=10, description="posts per delivery try; the consumer then retries the try"
    )
    webhook_backoff_s: float = Field(default=1.0, gt=0, description="first wait between posts; doubles")
    webhook_backoff_max_s: float = Field(default=30.0, gt=0)
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=30)
    match_review_limit: int = Field(default=5, ge=1, description="candidates queued per referral at most")
