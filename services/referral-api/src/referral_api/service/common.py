"""Helpers shared by the service modules: who counts as staff, references, API shapes of a referral."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


_PUBLIC = ("id", "agency_id", "status", "status_reason", "eligible", "submitted_at", "updated_at")
_STAFF_ONLY = ("match_grade", "matched_person_ref")


def to_public(referral: Referral, *, staff: bool) -> ReferralPublic:
    names = ("payload", "screening_reasons", *_PUBLIC, *_STAFF_ONLY)
    return public_of({name: getattr(referral, name) for name in names}, staff=staff)


def public_of(values: Mapping[str, Any], *, staff: bool) -> ReferralPublic:
    """The API shape of a referral from its column values (a row, or a referral's attributes)."""
    data = dict(values["payload"])
    data.update({name: values[name] for name in _PUBLIC}, screening_reasons=list(values["screening_reasons"]))
    if staff:  # a partner is not told whom the unit already knows
        data.update({name: values[name] for name in _STAFF_ONLY})
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
