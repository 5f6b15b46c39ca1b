"""Events produced by the referral-api (aggregate `referral`)."""

from __future__ import annotations

from datetime import datetime

from hhpu_shared.events.contracts.common import HarmDomain, PersonDetails
from hhpu_shared.events.registry import EventData, register


@register("referral.submitted", aggregate="referral")
class ReferralSubmitted(EventData):
    referral_id: str
    agency_id: str
    partner_reference: str | None
    domains: tuple[HarmDomain, ...]
    urgency: str
    route: str
    submitted_at: datetime


@register("referral.screened", aggregate="referral")
class ReferralScreened(EventData):
    referral_id: str
    agency_id: str
    eligible: bool
    reasons: tuple[str, ...]
    domains: tuple[HarmDomain, ...]
    urgency: str
    statutory_status: str
    subject: PersonDetails
    match_grade: str
    matched_person_ref: str | None = None


@register("referral.withdrawn", aggregate="referral")
class ReferralWithdrawn(EventData):
    referral_id: str
    agency_id: str
    reason_code: str


@register("referral.status_changed", aggregate="referral")
class ReferralStatusChanged(EventData):
    referral_id: str
    agency_id: str
    from_status: str
    to_status: str
    reason_code: str | None = None
