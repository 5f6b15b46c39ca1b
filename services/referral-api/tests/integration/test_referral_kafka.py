"""With real Kafka and PostgreSQL: each change emits its event exactly once; decisions move referrals."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened
from hhpu_shared.events.contracts.common import Trigger
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, event_spec
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.plugin import identity_headers, unique
from kafka import KafkaConsumer, KafkaProducer
from referral_api.app import create_app
from referral_api.domain.signing import verify
from referral_api.migrations import MIGRATIONS
from referral_api.schemas import REFERRAL_EXAMPLE
from referral_api.settings import ReferralSettings

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

ADMIN = identity_headers("administrator", subject="user:admin")
STAFF = {**identity_headers("unit_supervisor", subject="user:sup"), "X-Justification": "test: review"}


@pytest.fixture
def kafka_app(kafka_bootstrap: str, pg_url: str) -> Iterator[tuple[TestClient, ServiceRuntime, str]]:
    ns = unique("t") + "."
    settings = ReferralSettings(
        database_url=migrated(MIGRATIONS, pg_url),
        transport="kafka",
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=ns,
        consumer_backoff_s=0.01,
    )
    app = create_app(settings, run_consumer=False)
    runtime: ServiceRuntime = app.state.runtime
    yield TestClient(app), runtime, ns
    runtime.stop()
    runtime.engine.dispose()


def _partner(client: TestClient) -> dict[str, str]:
    r = client.post(
        "/api/v1/agencies",
        json={"name": unique("DAS "), "agency_type": "drug_and_alcohol_service", "contact_name": "lead"},
        headers=ADMIN,
    )
    aid = r.json()["id"]
    return identity_headers("partner_agency", subject=f"agency:{aid}", agency_id=aid)


def _body(**extra: Any) -> dict[str, Any]:
    return {**REFERRAL_EXAMPLE, "partner_reference": unique("DAS-"), **extra}


def _consume(bootstrap: str, topic: str, expected: int, settle_s: float = 1.5) -> list[Envelope]:
    """Read the topic from the start until `expected` messages arrived, then a while longer for extras."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        consumer_timeout_ms=500,
    )
    out: list[Envelope] = []
    deadline = time.monotonic() + 30
    settle_until: float | None = None
    try:
        while time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                out += [Envelope.from_bytes(r.value) for r in batch]
            if len(out) >= expected and settle_until is None:
                settle_until = time.monotonic() + settle_s
            if settle_until is not None and time.monotonic() > settle_until:
                break
    finally:
        consumer.close()
    return out


def test_each_change_emits_its_event_exactly_once(kafka_app, kafka_bootstrap: str) -> None:
    client, runtime, ns = kafka_app
    partner = _partner(client)
    body = _body()
    replies = [
        client.post("/api/v1/referrals", json=body, headers={**partner, "Idempotency-Key": "retry-1"})
        for _ in range(3)
    ]
    assert {r.status_code for r in replies} == {201}
    rid = replies[0].json()["id"]
    assert {r.json()["id"] for r in replies} == {rid}
    w = client.post(f"/api/v1/referrals/{rid}/withdraw", json={"reason_code": "other"}, headers=partner)
    assert w.status_code == 200
    relay = runtime.build_relay()
    relay.drain()
    relay.drain()  # a second drain publishes nothing again

    envelopes = _consume(kafka_bootstrap, ns + "hhpu.referral.events", expected=5)
    mine = [e for e in envelopes if e.aggregate_id == rid]
    assert Counter(e.type for e in mine) == {
        "referral.submitted": 1,
        "referral.screened": 1,
        "referral.status_changed": 2,
        "referral.withdrawn": 1,
    }
    assert len({e.event_id for e in mine}) == 5
    changes = [
        (e.data["from_status"], e.data["to_status"]) for e in mine if e.type == "referral.status_changed"
    ]
    assert changes == [("submitted", "screened"), ("screened", "withdrawn")]
    assert all(e.producer == "referral-api" for e in mine)


def _publish(bootstrap: str, ns: str, data: EventData, aggregate_id: str) -> None:
    spec = event_spec(data)
    env = Envelope(
        type=spec.name,
        producer="case-service",
        correlation_id=unique("c"),
        aggregate_type=spec.aggregate_type,
        aggregate_id=aggregate_id,
        data=data.model_dump(mode="json"),
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    producer.send(ns + spec.topic, key=aggregate_id.encode(), value=env.to_bytes()).get(timeout=10)
    producer.close(timeout=5)


def _run_until(consumer: Any, client: TestClient, rid: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        consumer.run_once(0.5)
        if client.get(f"/api/v1/referrals/{rid}", headers=STAFF).json()["status"] == status:
            return
    raise AssertionError(f"referral never became {status}")


def test_a_decision_event_moves_the_referral(kafka_app, kafka_bootstrap: str) -> None:
    client, runtime, ns = kafka_app
    partner = _partner(client)
    rid = client.post("/api/v1/referrals", json=_body(), headers=partner).json()["id"]
    opened = AssessmentOpened(
        assessment_id="as-1",
        person_id="person-1",
        person_label="D. M.",
        triggers=(Trigger(source="referral", ref=rid), Trigger(source="ranking", ref="run-1")),
    )
    decided = AssessmentDecided(
        assessment_id="as-1",
        person_id="person-1",
        decision="adopt",
        decided_by="user:di",
        cohort="hhpu",
        referral_ids=(rid,),
    )
    consumer = runtime.build_consumer(group=unique("g"))  # creates the namespaced topics first
    _publish(kafka_bootstrap, ns, opened, "as-1")
    _publish(kafka_bootstrap, ns, decided, "as-1")
    _run_until(consumer, client, rid, "accepted")

    st = client.get(f"/api/v1/referrals/{rid}/status", headers=partner).json()
    assert [h["to_status"] for h in st["history"]] == [
        "submitted",
        "screened",
        "under_assessment",
        "accepted",
    ]
    runtime.build_relay().drain()
    envelopes = _consume(kafka_bootstrap, ns + "hhpu.referral.events", expected=5)
    changes = [e.data["to_status"] for e in envelopes if e.type == "referral.status_changed"]
    assert changes == ["screened", "under_assessment", "accepted"]


def test_concurrent_retries_on_postgres_create_one_referral(kafka_app) -> None:
    client, runtime, _ = kafka_app
    partner = _partner(client)
    body = _body()
    headers = {**partner, "Idempotency-Key": "storm"}

    def post(_: int) -> Any:
        return client.post("/api/v1/referrals", json=body, headers=headers)

    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(pool.map(post, range(6)))
    assert {r.status_code for r in replies} <= {201, 409}
    assert all(r.json()["code"] == "concurrent_submission" for r in replies if r.status_code == 409)
    ids = {r.json()["id"] for r in replies if r.status_code == 201}
    assert len(ids) == 1
    listed = client.get("/api/v1/referrals", headers=partner).json()
    assert listed["total"] == 1
    final = post(0)  # a retry after the storm replays the one referral
    assert final.status_code == 201 and final.json()["id"] in ids


def test_the_webhook_consumer_group_delivers_from_kafka(kafka_app, receiver) -> None:
    client, runtime, _ = kafka_app
    created = client.post(
        "/api/v1/agencies",
        json={
            "name": unique("DAS "),
            "agency_type": "drug_and_alcohol_service",
            "contact_name": "lead",
            "webhook_url": receiver.url,
        },
        headers=ADMIN,
    ).json()
    partner = identity_headers("partner_agency", subject=f"agency:{created['id']}", agency_id=created["id"])
    rid = client.post("/api/v1/referrals", json=_body(), headers=partner).json()["id"]
    webhooks = runtime.build_extra_consumer("webhooks")
    assert webhooks.group == "referral-api-webhooks"
    runtime.build_relay().drain()
    deadline = time.monotonic() + 30
    while not receiver.calls and time.monotonic() < deadline:
        webhooks.run_once(0.5)
    [(headers, raw, _)] = receiver.calls
    assert verify(
        created["webhook_secret"],
        headers["x-hhpu-timestamp"],
        raw,
        headers["x-hhpu-signature"],
        now=time.time(),
    )
    assert json.loads(raw)["referral_id"] == rid
