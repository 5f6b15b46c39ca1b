"""Real Kafka and PostgreSQL: a referral and a ranking candidate for one person open ONE assessment,
also when both events are delivered twice, and when two consumers race on the same database."""

from __future__ import annotations

import threading
import time

import pytest
from case_service.app import build_runtime
from case_service.migrations import MIGRATIONS
from case_service.models import Assessment, AssessmentTrigger, Case, Person
from case_service.settings import CaseSettings
from case_testing import DEAN, candidate, envelope, screened
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.plugin import unique
from kafka import KafkaProducer
from sqlmodel import Session, select

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _runtime(pg_url: str, kafka_bootstrap: str, ns: str) -> ServiceRuntime:
    settings = CaseSettings(
        database_url=migrated(MIGRATIONS, pg_url),
        transport="kafka",
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=ns,
    )
    return build_runtime(settings, run_consumer=False)


def _send_twice(kafka_bootstrap: str, ns: str, envs: list[Envelope]) -> None:
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        for _ in range(2):
            for env in envs:
                topic = f"{ns}hhpu.{env.aggregate_type}.events"
                producer.send(topic, key=b"R-555", value=env.to_bytes())
        producer.flush(30)
    finally:
        producer.close()


def _state(rt: ServiceRuntime) -> tuple[int, int, int, int, int]:
    with Session(rt.engine) as s:
        opened = s.exec(select(OutboxRecord).where(OutboxRecord.type == "assessment.opened")).all()
        return (
            len(s.exec(select(Assessment)).all()),
            len(s.exec(select(AssessmentTrigger)).all()),
            len(opened),
            len(s.exec(select(Person)).all()),
            len(s.exec(select(Case)).all()),
        )


def _run_until(rt: ServiceRuntime, group: str, *, messages: int, deadline_s: float = 90.0) -> int:
    consumer = rt.build_consumer(group)
    assert consumer is not None
    end = time.monotonic() + deadline_s
    taken = 0
    while time.monotonic() < end and taken < messages:
        taken += consumer.run_once(0.5)
    return taken


def _events() -> list[Envelope]:
    ref = envelope(screened("ref-k1", grade="certain", person_ref="R-555"), producer="referral-api")
    rank = envelope(candidate("R-555", run_id="run-k1", subject=DEAN), producer="ranking-service")
    assert ref.aggregate_type == "referral" and rank.aggregate_type == "ranking_run"
    return [ref, rank]


def test_case_referral_and_ranking_redelivered_open_one_assessment(pg_url: str, kafka_bootstrap: str) -> None:
    ns = unique("t")
    rt = _runtime(pg_url, kafka_bootstrap, ns)
    try:
        group = unique("case-")
        rt.build_consumer(group)  # subscribes (and creates the namespaced topics) first
        _send_twice(kafka_bootstrap, ns, _events())
        taken = _run_until(rt, group, messages=4)
        assert taken == 4
        assessments, triggers, opened, people, cases = _state(rt)
        assert (assessments, triggers, opened, people, cases) == (1, 2, 1, 1, 1)
        with Session(rt.engine) as s:
            a = s.exec(select(Assessment)).one()
            assert a.open_key == a.person_id and a.status == "open"
            assert {t.source for t in s.exec(select(AssessmentTrigger)).all()} == {"referral", "ranking"}
            types = [r.type for r in s.exec(select(OutboxRecord)).all()]
            assert sorted(types) == ["assessment.opened", "assessment.trigger_added"]
    finally:
        rt.stop()


def test_case_two_racing_consumers_still_open_one_assessment(pg_url: str, kafka_bootstrap: str) -> None:
    """Two consumer groups on one database each handle all four messages at the same time:
    the inbox cannot help (different groups), the database's uniqueness must."""
    ns = unique("t")
    rts = [_runtime(pg_url, kafka_bootstrap, ns) for _ in range(2)]
    groups = [unique("case-a-"), unique("case-b-")]
    try:
        for rt, g in zip(rts, groups, strict=True):
            rt.build_consumer(g)
        _send_twice(kafka_bootstrap, ns, _events())
        results: list[int] = [0, 0]

        def run(i: int) -> None:
            results[i] = _run_until(rts[i], groups[i], messages=4)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert results == [4, 4]
        assessments, triggers, opened, people, cases = _state(rts[0])
        assert (assessments, triggers, opened, people, cases) == (1, 2, 1, 1, 1)
    finally:
        for rt in rts:
            rt.stop()
