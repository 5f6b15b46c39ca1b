"""The webhooks group per poll batch (issue 17), on SQLite and PostgreSQL: status changes of agencies
without a webhook cost one read for the batch, no unit of work, no write; those of an agency with one
are posted and claimed after; an agency that sets a webhook gets its next status change."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hhpu_shared.events.contracts.referral import ReferralStatusChanged, ReferralSubmitted
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, event_spec
from hhpu_shared.messaging.consumer import ConsumerRunner
from hhpu_shared.messaging.inbox import InboxRecord
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.plugin import identity_headers
from hhpu_shared.testing.statements import Statements
from referral_api.domain.signing import verify
from referral_api.handlers import webhook_handlers
from referral_api.migrations import MIGRATIONS
from referral_api.models import WebhookAttempt
from referral_api.settings import ReferralSettings
from referral_rows import insert_agency, insert_referral, webhook_engine
from sqlalchemy import Engine
from sqlalchemy import event as sa_event
from sqlmodel import Session, select

TOPIC = "hhpu.referral.events"
GROUP = "referral-api-webhooks"
ADMIN = identity_headers("administrator", subject="user:admin")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with webhook_engine(db_url, webhook_attempts=1, webhook_timeout_s=2.0) as eng:
        yield eng


def _message(data: EventData, aggregate_id: str) -> OutboundMessage:
    spec = event_spec(data)
    env = Envelope(
        type=spec.name, version=spec.version, producer="referral-api", correlation_id=str(uuid.uuid4()),
        aggregate_type=spec.aggregate_type, aggregate_id=aggregate_id, data=data.model_dump(mode="json"),
    )  # fmt: skip
    return OutboundMessage(spec.topic, aggregate_id.encode(), env.to_bytes(), [])


def _referral_events(agency: str, rid: str) -> list[OutboundMessage]:
    """What the referral topic carries for one referral up to its assessment: the submission
    (ignored by the group) and two status changes."""
    submitted = ReferralSubmitted(
        referral_id=rid, agency_id=agency, partner_reference="P-1", domains=("domestic_abuse",),
        urgency="high", route="partner_referral", submitted_at=datetime.now(UTC),
    )  # fmt: skip
    changes = [
        ReferralStatusChanged(referral_id=rid, agency_id=agency, from_status=a, to_status=b)
        for a, b in (("submitted", "screened"), ("screened", "under_assessment"))
    ]
    return [_message(d, rid) for d in (submitted, *changes)]


def _runner(engine: Engine, bus: InProcessBus) -> ConsumerRunner:
    return ConsumerRunner(
        service="referral-api", group=GROUP, engine=engine, source=bus.source(GROUP, [TOPIC]),
        registry=webhook_handlers, dlt_publisher=bus.publisher(), max_attempts=1, backoff_s=0.001,
    )  # fmt: skip


class Checkouts:
    def __init__(self, engine: Engine) -> None:
        self.engine, self.count = engine, 0
        sa_event.listen(engine, "checkout", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def stop(self) -> None:
        sa_event.remove(self.engine, "checkout", self._seen)


def _claims(engine: Engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(InboxRecord).where(InboxRecord.consumer_group == GROUP)).all())


def test_agencies_without_a_webhook_cost_one_read_per_batch(engine: Engine) -> None:
    bus = InProcessBus()
    for _ in range(3):
        agency = insert_agency(engine)
        bus.append(_referral_events(agency, insert_referral(engine, agency)))
    runner = _runner(engine, bus)
    seen, checkouts = Statements(engine, with_begin=False), Checkouts(engine)
    assert runner.run_once(0.1) == 9
    checkouts.stop()
    statements = list(seen.statements)
    # The agencies-with-webhook read of the six status changes, in one read-only transaction: no unit
    # of work, no webhook read, no claim (was two units of work and a claim transaction per change).
    assert len(statements) == 1 and statements[0].startswith("SELECT ref_agency.id"), statements
    assert checkouts.count == 1
    assert runner.processed == 6 and _claims(engine) == 0
    with Session(engine) as s:
        assert s.exec(select(WebhookAttempt)).all() == []


def test_a_mixed_batch_posts_only_for_the_agency_with_a_webhook(engine: Engine, receiver: Any) -> None:
    bus = InProcessBus()
    quiet, hooked = insert_agency(engine), insert_agency(engine, webhook_url=receiver.url)
    quiet_rid, hooked_rid = insert_referral(engine, quiet), insert_referral(engine, hooked)
    bus.append(_referral_events(quiet, quiet_rid) + _referral_events(hooked, hooked_rid))
    runner = _runner(engine, bus)
    seen = Statements(engine, with_begin=False)
    assert runner.run_once(0.1) == 6
    targets = [s for s in seen.statements if "LEFT OUTER JOIN ref_referral" in s]
    assert len(targets) == 2  # the webhook read of the two posted status changes only
    assert [json.loads(c[1])["to_status"] for c in receiver.calls] == ["screened", "under_assessment"]
    assert all(json.loads(c[1])["referral_id"] == hooked_rid for c in receiver.calls)
    assert seen.count("INSERT INTO inbox") == 1  # the posted ones', after their posts
    assert _claims(engine) == 2 and runner.processed == 4


@pytest.fixture
def ref_settings(db_url: str) -> ReferralSettings:
    """The app on both databases (the conftest's default is SQLite), with fast webhook retries."""
    url = migrated(MIGRATIONS, db_url)
    return ReferralSettings(database_url=url, webhook_backoff_s=0.05, webhook_timeout_s=2.0)


def test_an_agency_that_sets_a_webhook_gets_its_next_status_change(
    ref_env: Any, make_body: Any, receiver: Any
) -> None:
    agency = ref_env.agency()
    rid = ref_env.submit(agency, make_body()).json()["id"]
    assert ref_env.webhooks() >= 1  # submitted -> screened: no webhook yet, claimed without a post
    assert receiver.calls == []
    changed = ref_env.client.patch(
        f"/api/v1/agencies/{agency.id}", json={"webhook_url": receiver.url}, headers=ADMIN
    )
    assert changed.status_code == 200, changed.text
    secret = changed.json()["webhook_secret"]
    w = ref_env.client.post(
        f"/api/v1/referrals/{rid}/withdraw", json={"reason_code": "other"}, headers=agency.headers
    )
    assert w.status_code == 200, w.text
    assert ref_env.webhooks() >= 1
    [(headers, body, _)] = receiver.calls
    assert (json.loads(body)["referral_id"], json.loads(body)["to_status"]) == (rid, "withdrawn")
    assert verify(secret, headers["x-hhpu-timestamp"], body, headers["x-hhpu-signature"], now=time.time())
