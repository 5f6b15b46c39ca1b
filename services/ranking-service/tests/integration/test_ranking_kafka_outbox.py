"""Real Kafka and PostgreSQL: candidate events exactly once, also when the relay restarts."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hhpu_shared.auth import Principal
from hhpu_shared.events.contracts.case import CaseAdopted
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import event_spec
from hhpu_shared.messaging.kafka import KafkaPublisher
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing.plugin import unique
from kafka import KafkaConsumer
from ranking_service.app import build_runtime
from ranking_service.models import RankRunEntry
from ranking_service.service.runs import RunRequest, execute_run, reproduce
from ranking_service.synthetic import SyntheticForce, write_force
from sqlmodel import col, select

ANALYST = Principal(subject="user:ana", kind="staff", roles=frozenset({"analyst"}))
TOPIC = "hhpu.ranking_run.events"


def consume_all(
    bootstrap: str, topic: str, expected: int, timeout_s: float = 40.0
) -> list[dict[str, object]]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=unique("g"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    quiet_until = None
    try:
        while time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                out.extend(json.loads(r.value) for r in records)
            if len(out) >= expected and quiet_until is None:
                quiet_until = time.monotonic() + 3.0  # keep listening: duplicates would show up here
            if quiet_until is not None and time.monotonic() > quiet_until:
                break
    finally:
        consumer.close()
    return out


@pytest.mark.kafka
@pytest.mark.postgres
def test_candidate_events_exactly_once_across_relay_restart(
    rank_tools: Any, kafka_bootstrap: str, pg_url: str, tmp_path: Path, rank_force: SyntheticForce
) -> None:
    ns = unique("t")
    settings = rank_tools.settings_for(
        pg_url,
        tmp_path / "data",
        transport="kafka",
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=ns,
        relay_batch_size=4,
    )
    runtime = build_runtime(settings, run_consumer=False)
    people, offences = write_force(rank_force, tmp_path / "force")
    rank_tools.import_into(runtime, people, "people")
    rank_tools.import_into(runtime, offences, "offences")

    # the case-service says one top person is already managed (consumed from real Kafka)
    with runtime.unit_of_work(ANALYST) as uow:
        dry = execute_run(uow, settings, RunRequest(kind="dry", top_n=20))
    top = dry.computation.people[:20]  # type: ignore[union-attr]
    managed = top[0]
    adopted = CaseAdopted(
        case_id="c-1", person_id="per-1", records_id=managed, cohort="hhpu", identified_by="algorithm"
    )
    spec = event_spec(adopted)
    env = Envelope(
        type=spec.name,
        producer="case-service",
        correlation_id="t",
        aggregate_type=spec.aggregate_type,
        aggregate_id="c-1",
        data=adopted.model_dump(mode="json"),
    )
    runtime.ensure_topics()  # the namespaced topics (its publisher makes them on its first publish)
    pub = KafkaPublisher(kafka_bootstrap, namespace=ns)
    assert pub.publish_batch([OutboundMessage(spec.topic, b"c-1", env.to_bytes())]) == [None]
    pub.close()
    consumer = runtime.build_consumer(unique("rank"))
    assert consumer is not None
    deadline = time.monotonic() + 30
    while consumer.processed == 0 and time.monotonic() < deadline:
        consumer.run_once(0.5)
    assert consumer.processed == 1

    with runtime.unit_of_work(ANALYST) as uow:
        run = execute_run(uow, settings, RunRequest(top_n=20, as_of=datetime.now(UTC).date()))
    assert run.candidates_emitted == 19  # type: ignore[union-attr]
    run_id = run.id  # type: ignore[union-attr]

    # first relay publishes one small batch, then "crashes"; a new relay on the same DB drains the rest
    first = OutboxRelay(runtime.engine, runtime.publisher, service="ranking-service", batch_size=4)
    assert first.publish_pending() == 4
    runtime.stop()
    again = build_runtime(settings, run_consumer=False)
    again.build_relay().drain()
    third = build_runtime(settings, run_consumer=False)
    assert third.build_relay().publish_pending() == 0  # nothing left, nothing re-sent
    third.stop()

    events = consume_all(kafka_bootstrap, ns + TOPIC, expected=20)
    again.stop()
    per_id = Counter(str(e["event_id"]) for e in events)
    assert all(n == 1 for n in per_id.values())
    candidates = [e for e in events if e["type"] == "ranking.candidate_identified"]
    refs = [e["data"]["person_ref"] for e in candidates]  # type: ignore[index]
    assert len(candidates) == 19 and len(set(refs)) == 19 and managed not in refs
    assert [e["data"]["run_id"] for e in events if e["type"] == "ranking.run_completed"] == [run_id]  # type: ignore[index]
    with again.unit_of_work() as uow:
        stored = uow.session.exec(
            select(RankRunEntry).where(
                RankRunEntry.run_id == run_id, col(RankRunEntry.candidate_event_id).is_not(None)
            )
        ).all()
        assert {e.candidate_event_id for e in stored} == {str(e["event_id"]) for e in candidates}
        # reproduction on PostgreSQL is exact too (double precision round trip)
        rep = reproduce(uow, settings, run_id)
    assert rep["identical"] and rep["differences"] == 0
