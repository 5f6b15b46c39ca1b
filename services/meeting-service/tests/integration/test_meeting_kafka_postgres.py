"""With real Kafka and PostgreSQL: agenda items from events (with redelivery), one decision event."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from hhpu_shared.events.contracts.case import AssessmentOpened
from hhpu_shared.events.contracts.common import Trigger
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.plugin import identity_headers, unique
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from meeting_service.app import create_app
from meeting_service.migrations import MIGRATIONS
from meeting_service.models import AgendaItem
from meeting_service.seed import seed_demo
from meeting_service.settings import MeetingSettings
from sqlmodel import Session, select

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


@pytest.fixture
def kafka_app(kafka_bootstrap: str, pg_url: str) -> Iterator[tuple[TestClient, ServiceRuntime, str]]:
    ns = unique("t")
    settings = MeetingSettings(
        database_url=migrated(MIGRATIONS, pg_url),
        transport="kafka",
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=ns,
        overdue_sweep_interval_s=0,
        environment="test",
    )
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    yield TestClient(app), runtime, ns
    runtime.stop()
    runtime.engine.dispose()


def opened_envelope() -> Envelope:
    data = AssessmentOpened(
        assessment_id="asm-dean",
        person_id="per-dean",
        person_label="Dean Marsh",
        triggers=(Trigger(source="referral", ref="ref-1"), Trigger(source="ranking", ref="run-1")),
        urgency="high",
    )
    return Envelope(
        type="assessment.opened",
        producer="case-service",
        correlation_id=str(uuid.uuid4()),
        aggregate_type="assessment",
        aggregate_id="asm-dean",
        data=data.model_dump(mode="json"),
    )


def items_for(runtime: ServiceRuntime, assessment_id: str) -> list[AgendaItem]:
    with Session(runtime.engine) as s:
        return list(s.exec(select(AgendaItem).where(AgendaItem.assessment_id == assessment_id)).all())


def test_assessment_opened_on_kafka_puts_exactly_one_item_even_when_redelivered(
    kafka_app: tuple[TestClient, ServiceRuntime, str], kafka_bootstrap: str
) -> None:
    _client, runtime, ns = kafka_app
    seed = seed_demo(runtime, today=date.today())
    consumer = runtime.build_consumer(group=unique("g"))  # creates the namespaced topics
    assert consumer is not None
    env = opened_envelope()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for _ in range(2):  # the same envelope delivered twice
        producer.send(f"{ns}hhpu.assessment.events", key=b"asm-dean", value=env.to_bytes())
    producer.flush()
    producer.close()

    taken = 0
    deadline = time.monotonic() + 60
    while taken < 2 and time.monotonic() < deadline:
        taken += consumer.run_once(0.5)
    assert taken == 2
    assert consumer.processed == 1  # the second copy was recognised as a duplicate
    items = items_for(runtime, "asm-dean")
    assert len(items) == 1
    assert items[0].meeting_id == seed["next_meeting_id"]
    assert items[0].kind == "new_case" and items[0].planned_minutes == 8
    assert "Trigger: ranking run-1" in (items[0].notes or "")


def test_a_recorded_decision_emits_exactly_one_event_on_kafka(
    kafka_app: tuple[TestClient, ServiceRuntime, str], kafka_bootstrap: str
) -> None:
    client, runtime, ns = kafka_app
    seed = seed_demo(runtime, today=date.today())
    consumer = runtime.build_consumer(group=unique("g"))
    assert consumer is not None
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(f"{ns}hhpu.assessment.events", key=b"asm-dean", value=opened_envelope().to_bytes())
    producer.flush()
    producer.close()
    deadline = time.monotonic() + 60
    while consumer.processed < 1 and time.monotonic() < deadline:
        consumer.run_once(0.5)
    [item] = items_for(runtime, "asm-dean")

    chair = {**identity_headers("meeting_chair", subject="user:chair"), "X-Justification": "monthly meeting"}
    url = f"/api/v1/meetings/{seed['next_meeting_id']}/agenda/items/{item.id}/outcomes"
    body = {"kind": "decision", "decision": "adopt", "decided_by": "DI Sarah Cole", "cohort": "hhpu"}
    first = client.post(url, json=body, headers=chair)
    assert first.status_code == 201, first.text
    second = client.post(url, json=body, headers=chair)
    assert second.status_code == 409
    runtime.build_relay().drain()

    topic = f"{ns}hhpu.meeting.events"
    reader = KafkaConsumer(
        bootstrap_servers=kafka_bootstrap,
        group_id=unique("reader"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or [])]
    assert partitions
    reader.assign(partitions)
    reader.seek_to_beginning(*partitions)
    end = reader.end_offsets(partitions)
    found: list[Envelope] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(reader.position(tp) < end[tp] for tp in partitions):
        for records in reader.poll(timeout_ms=500).values():
            found.extend(Envelope.from_bytes(r.value) for r in records)
    reader.close()
    decisions = [e for e in found if e.type == "meeting.decision_recorded"]
    assert len(decisions) == 1
    data = decisions[0].data
    assert data["assessment_id"] == "asm-dean" and data["person_id"] == "per-dean"
    assert data["decision"] == "adopt" and data["decided_by"] == "DI Sarah Cole"
    assert data["meeting_id"] == seed["next_meeting_id"] and data["item_id"] == item.id
