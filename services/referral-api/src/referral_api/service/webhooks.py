"""Status webhooks to the referring agency, delivered from the outbox (docs/webhooks.md).

Every status change emits ``referral.status_changed`` in the transaction of the change; the relay
publishes it, and a consumer group of this service of its own (``referral-api-webhooks``) posts it
to the agency's webhook URL, signed over the timestamp and the body. A delivery try posts at most
``webhook_attempts`` times with backoff; a try that fails raises, so the consumer runner tries
again and, after its last try, dead-letters the event to ``hhpu.referral.events.DLT``, from where
it can be replayed (the other consumer groups hold it in their inbox and ignore it). Every post is
recorded in ``ref_webhook_attempt``: the delivery history partners and administrators read.

No database transaction is open while a post is in flight or a retry waits (the group's registry is
``outside_transaction``): the delivery is read in a short read, each attempt recorded in a short
transaction of its own, and the runner claims the event after. So a slow or failing receiver never
holds SQLite's write lock (``make run``) or a PostgreSQL transaction, and intake never waits for it.
A status change already delivered (a delivered attempt with its event id) is not posted again. The
status changes of agencies without a webhook (most of them) are left out per poll batch, in one read
(``with_webhook``), before any unit of work.
"""

from __future__ import annotations

import json
import logging
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from hhpu_shared.audit import AuditOperation
from hhpu_shared.background import backoff
from hhpu_shared.errors import Forbidden
from hhpu_shared.events.contracts.referral import ReferralStatusChanged
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.http import Page, PageParams
from hhpu_shared.uow import UnitOfWork, unit_of_work
from sqlalchemy import Engine
from sqlmodel import Session

from referral_api import metrics
from referral_api import repository as repo
from referral_api.domain.signing import signature_headers
from referral_api.models import WebhookAttempt
from referral_api.schemas_admin import WebhookAttemptPublic
from referral_api.service.common import is_staff
from referral_api.settings import ReferralSettings

if TYPE_CHECKING:
    from hhpu_shared.runtime import ServiceRuntime

log = logging.getLogger("referral_api.webhooks")
EVENT_STATUS_CHANGED = "referral.status_changed"
USER_AGENT = "hhpu-referral-api/0.1"

# The settings of each runtime by its engine (the handler is given a unit of work, not the runtime).
_SETTINGS: weakref.WeakKeyDictionary[Engine, ReferralSettings] = weakref.WeakKeyDictionary()


class WebhookNotDelivered(Exception):
    """Every post of a delivery try failed: the consumer runner retries, then dead-letters."""


def configure(runtime: ServiceRuntime) -> None:
    """``ServiceSpec.prepare``: the webhook consumer of this runtime reads its settings."""
    if isinstance(runtime.settings, ReferralSettings):
        _SETTINGS[runtime.engine] = runtime.settings


def _engine_and_settings(uow: UnitOfWork) -> tuple[Engine, ReferralSettings]:
    engine = uow.session.get_bind()
    settings = _SETTINGS.get(engine) if isinstance(engine, Engine) else None
    if not isinstance(engine, Engine) or settings is None:
        raise RuntimeError("webhooks not configured: build the runtime through referral_api.app.SERVICE")
    return engine, settings


@dataclass(frozen=True)
class Delivery:
    """One status change to post: the same body (and `id`) on every try and on a replay."""

    event_id: str
    agency_id: str
    referral_id: str
    to_status: str
    url: str
    secret: str
    body: bytes


def with_webhook(session: Session, events: Sequence[tuple[Envelope, Any]]) -> set[str]:
    """Of a poll batch's status changes, those of an agency with a webhook (their event ids), in one
    read: the runner is done with the others without a unit of work. Read when the batch is handled,
    after its events were published, so an agency that has just set a webhook gets its next status
    change."""
    agencies = {d.agency_id for _env, d in events if isinstance(d, ReferralStatusChanged)}
    with_hook = repo.agencies_with_webhook(session, agencies)
    return {
        str(env.event_id)
        for env, d in events
        if not isinstance(d, ReferralStatusChanged) or d.agency_id in with_hook
    }


def delivery_for(
    session: Session, event: ReferralStatusChanged, envelope: Envelope
) -> tuple[Delivery, Any] | None:
    """What to post for a status change and the event's earlier posts (``tried``, ``delivered``), in
    one read; None when the agency has no webhook (the referral is not read) or the referral is unknown."""
    event_id = str(envelope.event_id)
    found = repo.webhook_target(session, event.agency_id, event.referral_id, event_id)
    if found is None or found.referral_id is None:
        return None  # most agencies have no webhook
    body = {
        "id": event_id,
        "type": EVENT_STATUS_CHANGED,
        "occurred_at": envelope.occurred_at.isoformat(),
        "referral_id": found.referral_id,
        "partner_reference": found.partner_reference,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "reason_code": event.reason_code,
    }
    delivery = Delivery(
        event_id=event_id,
        agency_id=event.agency_id,
        referral_id=found.referral_id,
        to_status=event.to_status,
        url=found.webhook_url,
        secret=found.webhook_secret,
        body=json.dumps(body, separators=(",", ":"), sort_keys=True).encode(),
    )
    return delivery, found


def _post(client: httpx.Client, delivery: Delivery, attempt: int) -> WebhookAttempt:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signature_headers(delivery.secret, delivery.body, time.time()),
    }
    status_code: int | None = None
    error: str | None = None
    started = time.perf_counter()
    try:
        response = client.post(delivery.url, content=delivery.body, headers=headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    return WebhookAttempt(
        event_id=delivery.event_id,
        agency_id=delivery.agency_id,
        referral_id=delivery.referral_id,
        to_status=delivery.to_status,
        url=delivery.url,
        attempt=attempt,
        status_code=status_code,
        error=error,
        delivered=error is None,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )


def _record(uow: UnitOfWork, engine: Engine, row: WebhookAttempt) -> None:
    """Keep the attempt (and, once delivered, the disclosure in the audit trail) in a short transaction
    of its own: kept whatever the delivery try ends in, and no lock held across a post."""
    with unit_of_work(
        engine,
        service=uow.service,
        principal=uow.principal,
        correlation_id=uow.correlation_id,
        causation_id=uow.causation_id,
    ) as work:
        work.session.add(row)
        if row.delivered:
            work.audit(
                AuditOperation.DISCLOSE,
                subject_type="referral",
                subject_id=row.referral_id,
                justification="status feedback to the referring agency (webhook)",
                recipient=row.agency_id,
                detail={"event_id": row.event_id, "to_status": row.to_status},
            )


def deliver_status_change(uow: UnitOfWork, event: ReferralStatusChanged, envelope: Envelope) -> bool:
    """Post the signed webhook; True when delivered (now or before), False when the agency has none.

    Raises WebhookNotDelivered after `webhook_attempts` failed posts (backoff between them). `uow` is
    the runner's read-only unit of work: nothing is written through it."""
    engine, settings = _engine_and_settings(uow)
    # One read on the runner's read-only unit of work, then its transaction ends: none is open while
    # a post is in flight or a retry waits.
    found = delivery_for(uow.session, event, envelope)
    uow.session.close()
    if found is None:
        return False
    delivery, earlier = found
    if earlier.delivered:
        return True  # a redelivered event: posted once already
    tried = int(earlier.tried)
    with httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False) as client:
        for attempt in range(1, settings.webhook_attempts + 1):
            row = _post(client, delivery, tried + attempt)
            _record(uow, engine, row)
            metrics.WEBHOOK_ATTEMPTS.labels("ok" if row.delivered else "failed").inc()
            if row.delivered:
                return True
            log.warning(
                "webhook post failed",
                extra={"event_id": delivery.event_id, "attempt": row.attempt, "error": row.error},
            )
            if attempt < settings.webhook_attempts:
                time.sleep(
                    backoff(attempt, base_s=settings.webhook_backoff_s, cap_s=settings.webhook_backoff_max_s)
                )
    raise WebhookNotDelivered(
        f"webhook {delivery.event_id} not delivered after {settings.webhook_attempts} posts: {row.error}"
    )


def attempts(
    uow: UnitOfWork, agency_id: str, page: PageParams, *, referral_id: str | None
) -> Page[WebhookAttemptPublic]:
    """An agency's delivery history, newest first: staff see any agency's, a partner its own."""
    principal = uow.principal
    if not is_staff(principal) and principal.agency_id != agency_id:
        raise Forbidden("An agency sees its own webhook deliveries only.")
    rows, total = repo.webhook_attempts(
        uow.session, agency_id=agency_id, referral_id=referral_id, limit=page.limit, offset=page.offset
    )
    return Page[WebhookAttemptPublic].of([WebhookAttemptPublic.model_validate(r) for r in rows], total, page)
