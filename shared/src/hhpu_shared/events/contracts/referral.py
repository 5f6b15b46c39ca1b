"""Events produced by the referral-api (aggregate `referral`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from hhpu_shared.events.base import EventData, register
from hhpu_shared.events.contracts.common import HarmDomain, PersonDetails, Urgency

# What a referrer may give as the reason for withdrawing (after HMPPS interventions' coded reasons);
# ``referral.withdrawn`` carries one of them.
WithdrawalReason = Literal[
    "no_longer_required",
    "mistaken_or_duplicate",
    "subject_moved_away",
    "subject_in_custody",
    "subject_deceased",
    "consent_or_gateway_withdrawn",
    "other",
]
# The subject's standing with the criminal justice system, as the referrer states it.
StatutoryStatus = Literal["convicted", "on_licence", "unconvicted_suspect"]
# How the referral reached the unit.
Route = Literal["mappa", "iom_panel", "partner_referral", "internal_police_unit"]
# How well the subject matched a person already known (FHIR $match grades), best first: ``certain`` is
# matched at once, ``probable`` and ``possible`` wait for a reviewer, ``none`` is a new person.
MatchGrade = Literal["certain", "probable", "possible", "none"]
# The kinds of partner agency (``agency.changed`` carries one).
AgencyType = Literal[
    "probation",
    "childrens_services",
    "adult_social_care",
    "drug_and_alcohol_service",
    "housing",
    "health",
    "education",
    "anti_social_behaviour_team",
    "neighbourhood_policing",
    "police_unit",
    "other",
]


@register("referral.submitted", aggregate="referral")
class ReferralSubmitted(EventData):
    referral_id: str
    agency_id: str
    partner_reference: str | None
    domains: tuple[HarmDomain, ...]
    urgency: Urgency
    route: Route
    submitted_at: datetime


@register("referral.screened", aggregate="referral")
class ReferralScreened(EventData):
    referral_id: str
    agency_id: str
    eligible: bool
    reasons: tuple[str, ...]
    domains: tuple[HarmDomain, ...]
    urgency: Urgency
    statutory_status: StatutoryStatus
    subject: PersonDetails
    match_grade: MatchGrade
    matched_person_ref: str | None = None
    agency_name: str | None = None  # the referring agency's name (added: optional)
    partner_reference: str | None = None  # the agency's own reference (added: optional)


@register("referral.withdrawn", aggregate="referral")
class ReferralWithdrawn(EventData):
    referral_id: str
    agency_id: str
    reason_code: str  # a WithdrawalReason (a str, so a newer reason never dead-letters an older consumer)


@register("referral.status_changed", aggregate="referral")
class ReferralStatusChanged(EventData):
    referral_id: str
    agency_id: str
    from_status: str
    to_status: str
    reason_code: str | None = None


@register("referral.match_resolved", aggregate="referral")
class ReferralMatchResolved(EventData):
    """A reviewer confirmed (person_ref set) or rejected (None) a probable/possible match.

    The case-service opens the assessment for a probable or possible match only on this event,
    so nothing is merged before a person has looked at it.
    """

    referral_id: str
    agency_id: str
    resolved_by: str
    person_ref: str | None
    subject: PersonDetails
    domains: tuple[HarmDomain, ...]
    urgency: Urgency
    statutory_status: StatutoryStatus
    agency_name: str | None = None  # the referring agency's name (added: optional)
    partner_reference: str | None = None  # the agency's own reference (added: optional)


@register("agency.changed", aggregate="agency")
class AgencyChanged(EventData):
    """A partner agency was registered or changed (name, single point of contact, active flag).

    The meeting-service keeps its invitation list and contacts from these."""

    agency_id: str
    name: str
    agency_type: str  # an AgencyType
    contact_name: str
    contact_email: str | None = None
    contact_phone: str | None = None
    active: bool = True
