"""Rows written straight to the referral-api's tables, for tests of the consumer's handlers that
need an agency or a referral without going through the API (and its audit and outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from hhpu_shared.db import make_engine
from hhpu_shared.testing.databases import migrated
from referral_api.migrations import MIGRATIONS
from referral_api.models import Agency, Referral
from referral_api.service import webhooks
from referral_api.settings import ReferralSettings
from sqlalchemy import Engine, insert


@contextmanager
def webhook_engine(db_url: str, **settings: Any) -> Iterator[Engine]:
    """A migrated database's engine, with the webhook settings its handlers read (`settings`)."""
    url = migrated(MIGRATIONS, db_url)
    eng = make_engine(url)
    webhooks._SETTINGS[eng] = ReferralSettings(database_url=url, **settings)
    try:
        yield eng
    finally:
        eng.dispose()


def insert_agency(engine: Engine, webhook_url: str | None = None) -> str:
    """A probation agency, with a webhook (and its secret) when `webhook_url` is given."""
    agency_id, now = str(uuid.uuid4()), datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Agency.__table__),  # type: ignore[attr-defined]
            {"id": agency_id, "name": f"Agency {agency_id[:8]}", "agency_type": "probation",
             "contact_name": "A", "active": True, "webhook_url": webhook_url,
             "webhook_secret": "whsec_test" if webhook_url else None, "created_at": now, "updated_at": now},
        )  # fmt: skip
    return agency_id


def insert_referral(
    engine: Engine, agency_id: str, status: str = "under_assessment", outcome_note: str | None = None
) -> str:
    """A referral of `agency_id` in `status`."""
    rid, now = str(uuid.uuid4()), datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Referral.__table__),  # type: ignore[attr-defined]
            {"id": rid, "agency_id": agency_id, "partner_reference": "P-1", "status": status,
             "outcome_note": outcome_note, "subject_given_name": "D", "subject_family_name": "M",
             "domains_key": ",domestic_abuse,", "urgency": "high", "route": "partner",
             "statutory_status": "convicted", "legal_gateway": "s115", "payload": {},
             "screening_reasons": [], "submitted_by": "t", "submitted_at": now, "updated_at": now},
        )  # fmt: skip
    return rid
