"""Status changes of a referral (history, event and audit go with each) and the unit's decisions."""

from __future__ import annotations

import logging
from typing import Any

from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import Conflict
from hhpu_shared.events.contracts.referral import ReferralStatusChanged
from hhpu_shared.events.envelope import SubjectRef
from hhpu_shared.messaging.outbox import PendingEvent
from hhpu_shared.uow import UnitOfWork

from referral_api import metrics
from referral_api import repository as repo
from referral_api.domain.lifecycle import TERMINAL, Reason, Status, can_transition
from referral_api.models import Referral, now_utc

log = logging.getLogger("referral_api.service")


def change_status(
    uow: UnitOfWork,
    referral: Referral,
    target: Status,
    *,
    reason_code: str,
    justification: str,
    note: str | None = None,
) -> None:
    """Move a referral, or refuse with 409; history, event and audit go with the change.

    The ``referral.status_changed`` event is also what the webhook consumer notifies the agency of.
    """
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
    record_transition(
        uow, referral, current, target, reason_code=reason_code, justification=justification, note=note
    )


def record_transition(
    uow: UnitOfWork,
    referral: Referral,
    current: str,
    target: Status,
    *,
    reason_code: str,
    justification: str,
    note: str | None = None,
) -> None:
    """History, event and audit of a transition the caller has already applied to the referral."""
    _write_transition(
        uow,
        referral.id,
        referral.agency_id,
        current,
        target,
        reason_code=reason_code,
        justification=justification,
        note=note,
    )


def _write_transition(
    uow: UnitOfWork,
    referral_id: str,
    agency_id: str,
    current: str,
    target: Status,
    *,
    reason_code: str,
    justification: str,
    note: str | None,
) -> None:
    """Count, audit and write one transition: its history row and its event."""
    row, event = transition_records(
        uow,
        referral_id,
        agency_id,
        current,
        target,
        reason_code=reason_code,
        justification=justification,
        note=note,
    )
    repo.insert_history(uow.session, [row])
    uow.emit(event.data, aggregate_id=event.aggregate_id, subject=event.subject)


def transition_records(
    uow: UnitOfWork,
    referral_id: str,
    agency_id: str,
    current: str | None,
    target: Status,
    *,
    reason_code: str,
    justification: str,
    note: str | None = None,
) -> tuple[dict[str, Any], PendingEvent]:
    """Count and audit a transition now; return its history row and event for the caller to write
    (so a caller with several writes them in one INSERT each)."""
    metrics.STATUS_CHANGES.labels(target.value).inc()
    uow.audit(
        AuditOperation.ALTER,
        subject_type="referral",
        subject_id=referral_id,
        justification=justification,
        detail={"from": current, "to": target.value, "reason_code": reason_code},
    )
    event = ReferralStatusChanged(
        referral_id=referral_id,
        agency_id=agency_id,
        from_status=current,
        to_status=target.value,
        reason_code=reason_code,
    )
    row = history_row(uow, referral_id, current, target.value, reason_code, note)
    return row, PendingEvent(event, referral_id, SubjectRef(type="referral", id=referral_id))


def history_row(
    uow: UnitOfWork, referral_id: str, from_status: str | None, to: str, reason: str | None, note: str | None
) -> dict[str, Any]:
    """A status history row for ``repo.insert_history``."""
    return {
        "referral_id": referral_id,
        "from_status": from_status,
        "to_status": to,
        "reason_code": reason,
        "note": note[:2000] if note else None,
        "actor": uow.principal.subject,
        "at": now_utc(),
    }


# -- decisions from the case-service (Core: no referral object, no autoflush) ----------------------
def move_status(
    uow: UnitOfWork,
    referral_id: str,
    current: str,
    target: Status,
    *,
    reason_code: str,
    justification: str,
    note: str | None = None,
) -> bool:
    """:func:`change_status` for a referral the caller knows is in `current` (a legal move): one
    UPDATE guarded by that status, then history, event and audit. False, with nothing written, when
    the referral is unknown or no longer in `current`."""
    agency_id = repo.move_status(uow.session, referral_id, current, target.value, reason_code, note)
    if agency_id is None:
        return False
    _write_transition(
        uow,
        referral_id,
        agency_id,
        current,
        target,
        reason_code=reason_code,
        justification=justification,
        note=note,
    )
    return True


def apply_assessment_opened(uow: UnitOfWork, referral_id: str, assessment_id: str) -> bool:
    """screened -> under_assessment; unknown, or already past this point: a replay has no second effect."""
    return move_status(
        uow,
        referral_id,
        Status.SCREENED.value,
        Status.UNDER_ASSESSMENT,
        reason_code=Reason.ASSESSMENT_OPENED.value,
        justification="suitability assessment opened by the unit",
        note=f"assessment {assessment_id}",
    )


def apply_decision(uow: UnitOfWork, referral_id: str, decision: str, reason: str | None) -> bool:
    found = repo.status_for_update(uow.session, referral_id)
    if found is None:
        return False
    status = found.status
    why = "assessment decision recorded by the unit"
    if decision == "defer":
        if status in TERMINAL:
            return False
        row = history_row(uow, referral_id, status, status, Reason.DEFERRED.value, reason)
        repo.insert_history(uow.session, [row])
        repo.touch_referral(uow.session, referral_id)
        return True
    target = Status.ACCEPTED if decision == "adopt" else Status.DECLINED
    code = Reason.ADOPTED if decision == "adopt" else Reason.DECLINED_AT_ASSESSMENT
    if not can_transition(status, target):
        if status != target.value:
            log.warning(
                "decision ignored for a referral in a final state", extra={"referral_id": referral_id}
            )
        return False
    # The row is locked: it is still in `status`.
    return move_status(
        uow, referral_id, status, target, reason_code=code.value, justification=why, note=reason
    )
