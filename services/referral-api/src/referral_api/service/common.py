"""Helpers shared by the service modules: who counts as staff, references, API shapes of a referral."""

from __future__ import annotations

from hhpu_shared.auth import STAFF_ROLES, Principal
from hhpu_shared.events.envelope import SubjectRef
from hhpu_shared.uow import UnitOfWork

from referral_api import repository as repo
from referral_api.models import Referral
from referral_api.schemas import ReferralPublic, ReferralSummary


def is_staff(principal: Principal) -> bool:
    return principal.has(*STAFF_ROLES)


def subject_ref(referral: Referral) -> SubjectRef:
    return SubjectRef(type="referral", id=referral.id)


def to_public(referral: Referral, *, staff: bool) -> ReferralPublic:
    data = dict(referral.payload)
    data.update(
        id=referral.id,
        agency_id=referral.agency_id,
        status=referral.status,
        status_reason=referral.status_reason,
        eligible=referral.eligible,
        screening_reasons=list(referral.screening_reasons),
        submitted_at=referral.submitted_at,
        updated_at=referral.updated_at,
    )
    if staff:  # a partner is not told whom the unit already knows
        data.update(match_grade=referral.match_grade, matched_person_ref=referral.matched_person_ref)
    return ReferralPublic.model_validate(data)


def to_summary(r: Referral) -> ReferralSummary:
    return ReferralSummary(
        id=r.id,
        agency_id=r.agency_id,
        partner_reference=r.partner_reference,
        status=r.status,
        domains=[d for d in r.domains_key.split(",") if d],
        urgency=r.urgency,
        route=r.route,
        eligible=r.eligible,
        submitted_at=r.submitted_at,
        updated_at=r.updated_at,
    )


def agency_name(uow: UnitOfWork, agency_id: str) -> str | None:
    """The agency's name for events, so other services show a name, not an id."""
    agency = repo.get_agency(uow.session, agency_id)
    return agency.name if agency is not None else None
