"""On real PostgreSQL: journey 1 of the handbook end to end, and webhooks from the outbox."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hhpu_shared.events.contracts.case import AssessmentOpened
from hhpu_shared.events.contracts.common import PersonDetails, Trigger
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, event_spec
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.plugin import identity_headers, unique
from referral_api.app import create_app
from referral_api.domain.signing import verify
from referral_api.migrations import MIGRATIONS
from referral_api.models import WebhookAttempt
from referral_api.schemas import REFERRAL_EXAMPLE
from referral_api.settings import ReferralSettings
from sqlmodel import Session, col, select

pytestmark = pytest.mark.postgres

ADMIN = identity_headers("administrator", subject="user:admin")
REVIEWER = {**identity_headers("unit_supervisor", subject="user:sup"), "X-Justification": "test: review"}


@pytest.fixture
def pg_app(pg_url: str) -> Iterator[tuple[TestClient, ServiceRuntime]]:
    settings = ReferralSettings(database_url=migrated(MIGRATIONS, pg_url), webhook_backoff_s=0.05)
    app = create_app(settings, run_consumer=False)
    runtime: ServiceRuntime = app.state.runtime
    yield TestClient(app), runtime
    runtime.stop()
    runtime.engine.dispose()


def _webhooks(runtime: ServiceRuntime) -> None:
    """Publish the outbox and run the webhook consumer group over what is new."""
    runtime.build_relay().drain()
    if not runtime.extra_runners:
        runtime.build_extra_consumer("webhooks")
    runtime.extra_runners[0].run_once(0.1)


def _signed(headers: dict[str, str], raw: bytes, secret: str) -> bool:
    return verify(secret, headers["x-hhpu-timestamp"], raw, headers["x-hhpu-signature"], now=time.time())


def _deliver(runtime: ServiceRuntime, data: EventData, key: str) -> None:
    spec = event_spec(data)
    env = Envelope(
        type=spec.name,
        producer="test",
        correlation_id=unique("c"),
        aggregate_type=spec.aggregate_type,
        aggregate_id=key,
        data=data.model_dump(mode="json"),
    )
    assert runtime.bus is not None
    runtime.bus.append([OutboundMessage(spec.topic, key.encode(), env.to_bytes(), [])])
    consumer = runtime.build_consumer()
    assert consumer is not None
    assert consumer.run_once(0.1) == 1


def _agency(client: TestClient, name: str, webhook_url: str | None = None) -> tuple[dict[str, str], Any]:
    body: dict[str, Any] = {"name": name, "agency_type": "drug_and_alcohol_service", "contact_name": "lead"}
    if webhook_url:
        body["webhook_url"] = webhook_url
    created = client.post("/api/v1/agencies", json=body, headers=ADMIN).json()
    headers = identity_headers("partner_agency", subject=f"agency:{created['id']}", agency_id=created["id"])
    return headers, created


def test_journey_one_dean_marsh(pg_app, receiver) -> None:
    client, runtime = pg_app
    # the ranking named Dean a candidate last week (middle name spelt differently)
    _deliver(
        runtime,
        CandidateIdentified(
            run_id="run-1",
            person_ref="person-dean",
            rank=7,
            score=950.0,
            as_of=date(2026, 3, 1),
            provisional=False,
            subject=PersonDetails(
                given_name="Dean", middle_names="John", family_name="Marsh", date_of_birth=date(1991, 3, 14)
            ),
        ),
        "run-1",
    )
    das, das_agency = _agency(client, "Drug and Alcohol Service", receiver.url)
    childrens, _ = _agency(client, "Children's Services")
    body = {**REFERRAL_EXAMPLE, "partner_reference": "DAS-2026-0412"}

    # the network times out; the service retries twice with the same key: one referral, one id
    replies = [
        client.post("/api/v1/referrals", json=body, headers={**das, "Idempotency-Key": "das-0412-1"})
        for _ in range(3)
    ]
    assert {r.status_code for r in replies} == {201}
    rid = replies[0].json()["id"]
    assert {r.json()["id"] for r in replies} == {rid}
    assert client.get("/api/v1/referrals", headers=das).json()["total"] == 1
    assert replies[0].json()["status"] == "screened" and replies[0].json()["eligible"] is True

    # probable match: nothing merged until a reviewer confirms
    [review] = client.get("/api/v1/match-reviews", headers=REVIEWER).json()["items"]
    assert review["grade"] == "probable" and review["candidate"]["person_ref"] == "person-dean"
    assert client.get(f"/api/v1/referrals/{rid}", headers=REVIEWER).json()["matched_person_ref"] is None
    confirmed = client.post(f"/api/v1/match-reviews/{review['id']}/confirm", headers=REVIEWER)
    assert confirmed.json()["status"] == "confirmed"

    # the case-service opens one assessment carrying both triggers
    _deliver(
        runtime,
        AssessmentOpened(
            assessment_id="as-dean",
            person_id="person-dean",
            person_label="D. M.",
            triggers=(Trigger(source="ranking", ref="run-1"), Trigger(source="referral", ref=rid)),
        ),
        "as-dean",
    )
    status = client.get(f"/api/v1/referrals/{rid}/status", headers=das).json()
    assert status["status"] == "under_assessment"
    assert status["outcome"]["summary"] == "Under assessment by the High Harm Perpetrator Unit."

    # the webhook receives the same changes, signed over the timestamp and the body
    _webhooks(runtime)
    for headers, raw, _ in receiver.calls:
        assert _signed(headers, raw, das_agency["webhook_secret"])
    assert [json.loads(c[1])["to_status"] for c in receiver.calls] == ["screened", "under_assessment"]

    # children's services, another agency, gets 404
    assert client.get(f"/api/v1/referrals/{rid}", headers=childrens).status_code == 404
    assert client.get(f"/api/v1/referrals/{rid}/status", headers=childrens).status_code == 404


def test_webhook_retry_on_postgres(pg_app, receiver) -> None:
    client, runtime = pg_app
    receiver.fail_first = 1
    das, agency = _agency(client, unique("Agency "), receiver.url)
    client.post(
        "/api/v1/referrals", json={**REFERRAL_EXAMPLE, "partner_reference": unique("R-")}, headers=das
    )
    _webhooks(runtime)
    assert len(receiver.calls) == 2
    headers, raw, _ = receiver.calls[-1]
    assert _signed(headers, raw, agency["webhook_secret"])
    _webhooks(runtime)
    assert len(receiver.calls) == 2  # delivered: never sent again


def test_failed_posts_are_kept_when_the_delivery_is_dead_lettered(pg_app, receiver) -> None:
    client, runtime = pg_app
    receiver.fail_first = 1000
    das, agency = _agency(client, unique("Agency "), receiver.url)
    client.post(
        "/api/v1/referrals", json={**REFERRAL_EXAMPLE, "partner_reference": unique("R-")}, headers=das
    )
    _webhooks(runtime)
    settings = runtime.settings
    tries = settings.consumer_max_attempts * settings.webhook_attempts  # type: ignore[attr-defined]
    assert len(receiver.calls) == tries
    with Session(runtime.engine) as s:
        stmt = select(WebhookAttempt).where(WebhookAttempt.agency_id == agency["id"])
        rows = s.exec(stmt.order_by(col(WebhookAttempt.id))).all()
    # each post committed on its own, so the history survives the failed tries' rollbacks
    assert [(r.status_code, r.delivered) for r in rows] == [(503, False)] * tries
    assert runtime.bus is not None and len(runtime.bus.messages("hhpu.referral.events.DLT")) == 1
