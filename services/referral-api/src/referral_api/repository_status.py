"""Queries of the consumer's handlers: a referral's status moved in one guarded UPDATE, and what a
status webhook needs in one read (Core statements built once; re-exported by ``repository``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, String, bindparam, exists, func, select, update
from sqlmodel import Session, col

from referral_api.models import Agency, Referral, WebhookAttempt

_AGENCY = Agency.__table__  # type: ignore[attr-defined]

# A status change guarded by the status it leaves: no read before it, no object. outcome_note is
# kept when the change has no note.
_MOVE_STATUS: Any = (
    update(Referral.__table__)  # type: ignore[attr-defined]
    .where(col(Referral.id) == bindparam("b_id"), col(Referral.status) == bindparam("b_from"))
    .values(
        status=bindparam("b_to"),
        status_reason=bindparam("b_reason"),
        outcome_note=func.coalesce(bindparam("b_note", type_=String), col(Referral.outcome_note)),
        updated_at=bindparam("b_at"),
    )
    .returning(col(Referral.agency_id))
)
_STATUS_FOR_UPDATE: Any = (
    select(col(Referral.status), col(Referral.agency_id))
    .where(col(Referral.id) == bindparam("b_id"))
    .with_for_update()
)
_TOUCH: Any = (
    update(Referral.__table__)  # type: ignore[attr-defined]
    .where(col(Referral.id) == bindparam("b_id"))
    .values(updated_at=bindparam("b_at"))
)


def move_status(
    session: Session, referral_id: str, from_status: str, to_status: str, reason: str, note: str | None
) -> str | None:
    """Move the referral from `from_status` to `to_status` in one UPDATE; its agency id, or None when
    the referral is unknown or not in `from_status` (nothing changed)."""
    params = {
        "b_id": referral_id,
        "b_from": from_status,
        "b_to": to_status,
        "b_reason": reason,
        "b_note": note[:2000] if note else None,
        "b_at": datetime.now(UTC),
    }
    return session.connection().execute(_MOVE_STATUS, params).scalar()


def status_for_update(session: Session, referral_id: str) -> Row[Any] | None:
    """``(status, agency_id)`` of a referral, locked until the transaction ends (one Core read)."""
    return session.connection().execute(_STATUS_FOR_UPDATE, {"b_id": referral_id}).first()


def touch_referral(session: Session, referral_id: str) -> None:
    session.connection().execute(_TOUCH, {"b_id": referral_id, "b_at": datetime.now(UTC)})


_REF = Referral.__table__  # type: ignore[attr-defined]
_ATTEMPT = WebhookAttempt.__table__  # type: ignore[attr-defined]
# An agency with a webhook: a URL and a secret (NULL or empty is none).
_HAS_WEBHOOK: Any = (_AGENCY.c.webhook_url != "") & (_AGENCY.c.webhook_secret != "")
_WITH_WEBHOOK: Any = select(_AGENCY.c.id).where(
    _AGENCY.c.id.in_(bindparam("agency_ids", expanding=True)), _HAS_WEBHOOK
)
# What a status webhook needs, in one read: nothing for an agency without a webhook (most of them),
# else its URL and secret, the referral's partner reference, and this event's earlier posts.
_WEBHOOK_TARGET: Any = (
    select(
        _AGENCY.c.webhook_url,
        _AGENCY.c.webhook_secret,
        _REF.c.id.label("referral_id"),
        _REF.c.partner_reference,
        select(func.count())
        .select_from(_ATTEMPT)
        .where(_ATTEMPT.c.event_id == bindparam("event_id"))
        .scalar_subquery()
        .label("tried"),
        exists()
        .where(_ATTEMPT.c.event_id == bindparam("event_id"), _ATTEMPT.c.delivered.is_(True))
        .label("delivered"),
    )
    .select_from(_AGENCY.outerjoin(_REF, _REF.c.id == bindparam("referral_id")))
    .where(_AGENCY.c.id == bindparam("agency_id"), _HAS_WEBHOOK)
)


def agencies_with_webhook(session: Session, agency_ids: Collection[str]) -> set[str]:
    """Which of `agency_ids` have a webhook (one Core read; none when none are given)."""
    if not agency_ids:
        return set()
    rows = session.connection().execute(_WITH_WEBHOOK, {"agency_ids": sorted(agency_ids)})
    return {str(agency_id) for (agency_id,) in rows}


def webhook_target(session: Session, agency_id: str, referral_id: str, event_id: str) -> Row[Any] | None:
    """``(webhook_url, webhook_secret, referral_id, partner_reference, tried, delivered)`` for a status
    change, or None when the agency has no webhook (or is unknown); referral_id is None for an
    unknown referral. One Core read, no object."""
    params = {"agency_id": agency_id, "referral_id": referral_id, "event_id": event_id}
    return session.connection().execute(_WEBHOOK_TARGET, params).first()
