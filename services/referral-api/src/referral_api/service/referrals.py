"""Reading referrals (scoped to the caller's agency) and the referrer's withdrawal."""

from __future__ import annotations

from datetime import date

from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import Forbidden, NotFound
from hhpu_shared.events.contracts.referral import ReferralWithdrawn
from hhpu_shared.http import Page, PageParams
from hhpu_shared.uow import UnitOfWork
from hhpu_shared.visibility import IDENTITY_FIELDS, NARRATIVE_FIELDS, redact

from referral_api import repository as repo
from referral_api.domain.lifecycle import OUTCOME_TEXT, TERMINAL, Reason, Status
from referral_api.models import Referral
from referral_api.schemas import (
    HistoryEntry,
    Outcome,
    ReferralPublic,
    ReferralStatusPublic,
    ReferralSummary,
    WithdrawRequest,
)
from referral_api.service.common import is_staff, subject_ref, to_public, to_summary
from referral_api.service.lifecycle import change_status
from referral_api.service.matching import cancel_pending_reviews


def load_scoped(uow: UnitOfWork, referral_id: str, *, for_update: bool = False) -> Referral:
    """The referral, if the caller may see it; another agency's referral is simply not found."""
    referral = repo.get_referral(uow.session, referral_id, for_update=for_update)
    principal = uow.principal
    if referral is None or (not is_staff(principal) and referral.agency_id != principal.agency_id):
        raise NotFound("No such referral.")
    return referral


def get(uow: UnitOfWork, referral_id: str, justification: str) -> ReferralPublic:
    referral = load_scoped(uow, referral_id)
    uow.audit(
        AuditOperation.CONSULT, subject_type="referral", subject_id=referral.id, justification=justification
    )
    return redact(uow.principal, to_public(referral, staff=is_staff(uow.principal)))


def list_page(
    uow: UnitOfWork,
    page: PageParams,
    *,
    status: str | None,
    domain: str | None,
    submitted_from: date | None,
    submitted_to: date | None,
    agency_id: str | None,
    justification: str,
) -> Page[ReferralSummary]:
    """A partner sees its own agency's referrals; staff see all, or one agency's. Each row is a
    person's referral (with the partner's own reference), so each is audited."""
    staff = is_staff(uow.principal)
    scope = agency_id if staff else uow.principal.agency_id
    if scope is None and not staff:
        raise Forbidden("No agency scope.")
    rows, total = repo.list_referrals(
        uow.session,
        agency_id=scope,
        status=status,
        domain=domain,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        limit=page.limit,
        offset=page.offset,
    )
    uow.audit_people(
        AuditOperation.CONSULT,
        [r.id for r in rows] or [None],
        subject_type="referrals",
        subject_id=scope or "all",
        justification=justification,
        detail={"view": "referral list", "offset": page.offset},
    )
    return Page[ReferralSummary].of([to_summary(r) for r in rows], total, page)


def status_of(uow: UnitOfWork, referral_id: str, justification: str) -> ReferralStatusPublic:
    referral = load_scoped(uow, referral_id)
    partner = referral.agency_id == uow.principal.agency_id and not is_staff(uow.principal)
    uow.audit(
        AuditOperation.DISCLOSE if partner else AuditOperation.CONSULT,
        subject_type="referral",
        subject_id=referral.id,
        justification=justification,
        recipient=referral.agency_id if partner else None,
    )
    status = Status(referral.status)
    summary = OUTCOME_TEXT[status]
    if status == Status.DECLINED and referral.status_reason == Reason.NOT_ELIGIBLE.value:
        summary = "Declined: not eligible under the unit's terms of reference."
    history = [
        HistoryEntry(
            from_status=h.from_status, to_status=h.to_status, reason_code=h.reason_code, note=h.note, at=h.at
        )
        for h in repo.history_of(uow.session, referral.id)
    ]
    out = ReferralStatusPublic(
        referral_id=referral.id,
        partner_reference=referral.partner_reference,
        status=referral.status,
        eligible=referral.eligible,
        reasons=list(referral.screening_reasons),
        outcome=Outcome(
            decided=status in TERMINAL,
            summary=summary,
            reason_code=referral.status_reason,
            note=referral.outcome_note,
        ),
        history=history,
    )
    # The outcome's summary is the platform's own wording; the notes are narrative (least privilege).
    return redact(uow.principal, out, fields=IDENTITY_FIELDS | (NARRATIVE_FIELDS - {"summary"}))


def withdraw(uow: UnitOfWork, referral_id: str, body: WithdrawRequest, justification: str) -> ReferralPublic:
    """The referring agency withdraws its own referral (staff cannot withdraw for it)."""
    referral = load_scoped(uow, referral_id, for_update=True)
    if referral.agency_id != uow.principal.agency_id:
        raise NotFound("No such referral.")
    change_status(
        uow,
        referral,
        Status.WITHDRAWN,
        reason_code=body.reason_code,
        justification=justification,
        note=body.note,
    )
    uow.emit(
        ReferralWithdrawn(
            referral_id=referral.id, agency_id=referral.agency_id, reason_code=body.reason_code
        ),
        aggregate_id=referral.id,
        subject=subject_ref(referral),
    )
    cancel_pending_reviews(uow, referral.id)
    return to_public(referral, staff=False)
