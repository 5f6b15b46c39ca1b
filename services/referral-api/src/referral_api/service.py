"""Referral business rules: intake (idempotent, screened, matched), lifecycle, feedback. Never commits."""

from __future__ import annotations

import logging
from datetime import date

from hhpu_shared.audit import AuditOperation
from hhpu_shared.auth import Principal, Role
from hhpu_shared.errors import Conflict, Forbidden, NotFound
from hhpu_shared.events.contracts.referral import (
    ReferralStatusChanged,
    ReferralWithdrawn,
)
from hhpu_shared.events.envelope import SubjectRef
from hhpu_shared.uow import UnitOfWork

from referral_api import metrics
from referral_api import repository as repo
from referral_api import service_matching as matching
from referral_api.domain.lifecycle import OUTCOME_TEXT, TERMINAL, Reason, Status, can_transition
from referral_api.models import Referral, StatusHistory, now_utc
from referral_api.schemas import (
    HistoryEntry,
    Outcome,
    ReferralPage,
    ReferralPublic,
    ReferralStatusPublic,
    ReferralSummary,
    WithdrawRequest,
)
from referral_api.webhooks import enqueue_status_change

log = logging.getLogger("referral_api.service")

STAFF_ROLES = (Role.OFFENDER_MANAGER, Role.UNIT_SUPERVISOR, Role.ANALYST, Role.ADMINISTRATOR)


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


# -- lifecycle -------------------------------------------------------------------------------------
def change_status(
    uow: UnitOfWork,
    referral: Referral,
    target: Status,
    *,
    reason_code: str,
    justification: str,
    note: str | None = None,
) -> None:
    """Move a referral, or refuse with 409; history, event, audit and webhook go with the change."""
    current = referral.status
    if not can_transition(current, target):
        raise Conflict(
            f"A referral cannot go from {current} to {target}.",
            code="illegal_transition",
            extra={"current_status": current, "requested_status": target.value},
        )
    referral.status = target.value
    referral.status_reason = reason_code
    if note is not None:
        referral.outcome_note = note[:2000]
    referral.updated_at = now_utc()
    uow.session.add(referral)
    metrics.STATUS_CHANGES.labels(target.value).inc()
    add_history(uow, referral, current, target.value, reason_code, note)
    uow.emit(
        ReferralStatusChanged(
            referral_id=referral.id,
            agency_id=referral.agency_id,
            from_status=current,
            to_status=target.value,
            reason_code=reason_code,
        ),
        aggregate_id=referral.id,
        subject=subject_ref(referral),
    )
    uow.audit(
        AuditOperation.ALTER,
        subject_type="referral",
        subject_id=referral.id,
        justification=justification,
        detail={"from": current, "to": target.value, "reason_code": reason_code},
    )
    agency = repo.get_agency(uow.session, referral.agency_id)
    enqueue_status_change(
        uow.session, agency, referral, from_status=current, to_status=target.value, reason_code=reason_code
    )


def add_history(
    uow: UnitOfWork,
    referral: Referral,
    from_status: str | None,
    to: str,
    reason: str | None,
    note: str | None,
) -> None:
    uow.session.add(
        StatusHistory(
            referral_id=referral.id,
            from_status=from_status,
            to_status=to,
            reason_code=reason,
            note=note[:2000] if note else None,
            actor=uow.principal.subject,
        )
    )


def add_note(uow: UnitOfWork, referral: Referral, reason_code: str, note: str | None) -> None:
    """A history entry that does not change the status (e.g. a deferred decision)."""
    add_history(uow, referral, referral.status, referral.status, reason_code, note)
    referral.updated_at = now_utc()
    uow.session.add(referral)


# -- reads and the referrer's actions ------------------------------------------------------------
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
    return to_public(referral, staff=is_staff(uow.principal))


def list_page(
    uow: UnitOfWork,
    *,
    status: str | None,
    domain: str | None,
    submitted_from: date | None,
    submitted_to: date | None,
    agency_id: str | None,
    limit: int,
    offset: int,
) -> ReferralPage:
    scope = agency_id if is_staff(uow.principal) else uow.principal.agency_id
    if scope is None and not is_staff(uow.principal):
        raise Forbidden("No agency scope.")
    rows, total = repo.list_referrals(
        uow.session,
        agency_id=scope,
        status=status,
        domain=domain,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        limit=limit,
        offset=offset,
    )
    return ReferralPage(items=[to_summary(r) for r in rows], total=total, limit=limit, offset=offset)


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
    return ReferralStatusPublic(
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
    matching.cancel_pending_reviews(uow.session, referral.id)
    return to_public(referral, staff=False)


# -- decisions from the case-service ---------------------------------------------------------------
def apply_assessment_opened(uow: UnitOfWork, referral_id: str, assessment_id: str) -> bool:
    referral = repo.get_referral(uow.session, referral_id, for_update=True)
    if referral is None or referral.status != Status.SCREENED.value:
        return False  # unknown, or already past this point: a replay has no second effect
    change_status(
        uow,
        referral,
        Status.UNDER_ASSESSMENT,
        reason_code=Reason.ASSESSMENT_OPENED.value,
        justification="suitability assessment opened by the unit",
        note=f"assessment {assessment_id}",
    )
    return True


def apply_decision(uow: UnitOfWork, referral_id: str, decision: str, reason: str | None) -> bool:
    referral = repo.get_referral(uow.session, referral_id, for_update=True)
    if referral is None:
        return False
    why = "assessment decision recorded by the unit"
    if decision == "defer":
        if referral.status in TERMINAL:
            return False
        add_note(uow, referral, Reason.DEFERRED.value, reason)
        return True
    target = Status.ACCEPTED if decision == "adopt" else Status.DECLINED
    code = Reason.ADOPTED if decision == "adopt" else Reason.DECLINED_AT_ASSESSMENT
    if not can_transition(referral.status, target):
        if referral.status != target.value:
            log.warning(
                "decision ignored for a referral in a final state", extra={"referral_id": referral.id}
            )
        return False
    change_status(uow, referral, target, reason_code=code.value, justification=why, note=reason)
    return True
