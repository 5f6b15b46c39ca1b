"""Signed webhooks to the referring agency: queued in the business transaction, delivered by a thread.

Each status change adds a delivery row in the same transaction as the change, so a rolled-back
change notifies nobody and a committed one is never forgotten. The deliverer POSTs the JSON body
with ``X-HHPU-Signature: sha256=<hex HMAC of the body>`` and ``X-HHPU-Timestamp``, and retries
failures with exponential backoff, recording every attempt, until it succeeds or gives up.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hhpu_shared.audit import AuditOperation, write_audit
from hhpu_shared.auth import system_principal
from sqlalchemy import Engine
from sqlmodel import Session

from referral_api import metrics
from referral_api import repository as repo
from referral_api.domain.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, backoff_delay, sign
from referral_api.models import Agency, Referral, WebhookAttempt, WebhookDelivery, new_uuid, now_utc
from referral_api.settings import ReferralSettings

log = logging.getLogger("referral_api.webhooks")
EVENT_STATUS_CHANGED = "referral.status_changed"


def enqueue_status_change(
    session: Session,
    agency: Agency | None,
    referral: Referral,
    *,
    from_status: str | None,
    to_status: str,
    reason_code: str | None,
) -> WebhookDelivery | None:
    """Queue a notification of a status change, if the agency has a webhook (no personal data in it)."""
    if agency is None or not agency.webhook_url:
        return None
    delivery_id = new_uuid()
    body: dict[str, Any] = {
        "id": delivery_id,
        "type": EVENT_STATUS_CHANGED,
        "occurred_at": now_utc().isoformat(),
        "referral_id": referral.id,
        "partner_reference": referral.partner_reference,
        "from_status": from_status,
        "to_status": to_status,
        "reason_code": reason_code,
    }
    delivery = WebhookDelivery(
        id=delivery_id,
        agency_id=agency.id,
        referral_id=referral.id,
        event_type=EVENT_STATUS_CHANGED,
        url=agency.webhook_url,
        payload=json.dumps(body, separators=(",", ":"), sort_keys=True),
    )
    session.add(delivery)
    return delivery


class WebhookDeliverer:
    """Delivers due webhooks; `deliver_due()` runs one pass (tests call it directly)."""

    LEASE_S = 60.0

    def __init__(
        self, engine: Engine, settings: ReferralSettings, client: httpx.Client | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.client = client or httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False)
        self.principal = system_principal(f"{settings.service_name}-webhooks")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def deliver_due(self, limit: int = 20) -> int:
        """Try every delivery that is due; return how many were tried."""
        now = now_utc()
        with Session(self.engine, expire_on_commit=False) as session:
            rows = repo.due_deliveries(session, now, limit)
            claimed = [(r.id, r.url, r.payload, r.agency_id) for r in rows]
            for r in rows:  # lease them, so another replica does not send them at the same time
                r.next_attempt_at = now + timedelta(seconds=self.LEASE_S + self.settings.webhook_timeout_s)
                session.add(r)
            session.commit()
        for delivery_id, url, payload, agency_id in claimed:
            self._attempt(delivery_id, url, payload, agency_id)
        return len(claimed)

    def _attempt(self, delivery_id: str, url: str, payload: str, agency_id: str) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            agency = repo.get_agency(session, agency_id)
            secret = agency.webhook_secret if agency is not None else None
        body = payload.encode()
        status_code: int | None = None
        error: str | None = None
        started = time.perf_counter()
        if not secret:
            error = "agency has no webhook secret"
        else:
            headers = {
                "Content-Type": "application/json",
                SIGNATURE_HEADER: sign(body, secret),
                TIMESTAMP_HEADER: str(int(time.time())),
                "User-Agent": "hhpu-referral-api/0.1",
            }
            try:
                resp = self.client.post(url, content=body, headers=headers)
                status_code = resp.status_code
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}"
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        self._record(delivery_id, status_code, error, elapsed_ms)

    def _record(
        self, delivery_id: str, status_code: int | None, error: str | None, elapsed_ms: float
    ) -> None:
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.get(WebhookDelivery, delivery_id)
            if row is None:
                return
            row.attempts += 1
            row.last_status_code = status_code
            row.last_error = error
            session.add(
                WebhookAttempt(
                    delivery_id=row.id, status_code=status_code, error=error, duration_ms=elapsed_ms
                )
            )
            metrics.WEBHOOK_ATTEMPTS.labels("ok" if error is None else "failed").inc()
            if error is None:
                row.status = "delivered"
                row.delivered_at = now_utc()
                write_audit(
                    session,
                    service=self.settings.service_name,
                    operation=AuditOperation.DISCLOSE,
                    principal=self.principal,
                    subject_type="referral",
                    subject_id=row.referral_id,
                    justification="status feedback to the referring agency (webhook)",
                    recipient=row.agency_id,
                    detail={"delivery_id": row.id, "event_type": row.event_type},
                )
            elif row.attempts >= self.settings.webhook_max_attempts:
                row.status = "failed"
                log.warning(
                    "webhook delivery abandoned", extra={"delivery_id": row.id, "attempts": row.attempts}
                )
            else:
                delay = backoff_delay(
                    row.attempts, self.settings.webhook_backoff_s, self.settings.webhook_backoff_max_s
                )
                row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=delay)
            session.add(row)
            session.commit()

    # -- thread ----------------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                tried = self.deliver_due()
            except Exception:
                log.exception("webhook delivery pass failed")
                tried = 0
            if not tried:
                self._stop.wait(self.settings.webhook_poll_s)

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="referral-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
