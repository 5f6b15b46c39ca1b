"""What the relay and the API process spend per event: on PostgreSQL the relay marks every batch
published with one statement text, whatever its length (prepared once, not rendered per batch);
the Kafka producer keeps no client metrics and checksums in C; an API process keeps a pooled
PostgreSQL connection for every request it admits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hhpu_shared.auth import system_principal
from hhpu_shared.db import make_engine
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.kafka import KafkaPublisher, ensure_topics
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.runtime import _engine
from hhpu_shared.settings import ServiceSettings
from hhpu_shared.testing import steps
from hhpu_shared.testing.plugin import create_pg_database, drop_pg_database, unique
from hhpu_shared.testing.publishers import RecordingPublisher
from hhpu_shared.testing.steps import StepRecorded
from hhpu_shared.uow import unit_of_work
from sqlalchemy import Engine, event


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url, admin = f"sqlite:///{tmp_path}/relay.db", None
    else:
        admin = request.getfixturevalue("postgres_admin_url")
        url = create_pg_database(admin, "relay")
    eng = make_engine(url)
    steps.create_tables(eng)
    try:
        yield eng
    finally:
        eng.dispose()
        if admin:
            drop_pg_database(admin, url)


def _write(engine: Engine, agg: str, n: int) -> None:
    for seq in range(1, n + 1):
        with unit_of_work(engine, service="t", principal=system_principal("t")) as uow:
            uow.emit(StepRecorded(aggregate=agg, seq=seq), aggregate_id=agg)


def test_batches_of_any_length_are_marked_published_by_one_statement(engine: Engine) -> None:
    updates: list[str] = []

    def seen(_conn: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE OUTBOX"):
            updates.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    recorder = RecordingPublisher()
    relay = OutboxRelay(engine, recorder, service="t", batch_size=50)
    for agg, n in (("a", 1), ("b", 3), ("c", 7)):
        _write(engine, agg, n)
        assert relay.publish_pending() == n
    assert relay.pending() == 0
    assert [m.key for m in recorder.sent] == [b"a"] + [b"b"] * 3 + [b"c"] * 7  # in order, each once
    assert len(updates) == 3
    if engine.dialect.name == "postgresql":
        assert len(set(updates)) == 1 and "ANY" in updates[0].upper()
    assert relay.publish_pending() == 0


@pytest.mark.kafka
def test_the_producer_keeps_no_client_metrics_and_checksums_in_c(kafka_bootstrap: str) -> None:
    from crc32c import crc32c
    from kafka.record import util

    assert util._crc32c is crc32c  # kafka-python's pure-Python fallback is not used
    topic = unique("t") + ".hhpu.lean.events"
    ensure_topics(kafka_bootstrap, [topic, dlt_topic(topic)], partitions=1)
    publisher = KafkaPublisher(kafka_bootstrap, client_id="lean")
    try:
        msgs = [OutboundMessage(topic=topic, key=b"k", value=b"v%d" % i, headers=[]) for i in range(3)]
        assert publisher.publish_batch(msgs) == [None, None, None]
        producer = publisher._producer
        assert producer is not None and producer._metrics is None and not producer.metrics()
    finally:
        publisher.close()


def test_an_api_process_keeps_a_postgresql_connection_per_admitted_request() -> None:
    settings = ServiceSettings(database_url="postgresql+psycopg://u:p@127.0.0.1:9/none", environment="test")
    eng = _engine(settings)  # no connection is made until one is used
    try:
        assert settings.request_limit() == 16
        assert eng.pool.size() == 16 + 8  # admitted requests + relay, consumers, workers, probes
    finally:
        eng.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_the_pending_read_does_not_revisit_published_rows(engine: Engine) -> None:
    """The relay reads pending rows by the partial index in order, marking the entries of published
    rows dead as it passes: a later read touches a few pages, however many rows went out before. (A
    bitmap scan, the planner's pick on a new table, visited every page of every published row.)"""
    import json

    from hhpu_shared.messaging import relay as relay_module
    from sqlalchemy import text

    with unit_of_work(engine, service="t", principal=system_principal("t")) as uow:
        for seq in range(1, 3001):
            uow.emit(StepRecorded(aggregate=f"a{seq % 50}", seq=seq), aggregate_id=f"a{seq % 50}")
    publisher = RecordingPublisher()
    relay = OutboxRelay(engine, publisher, service="t", batch_size=200)
    relay.drain()
    assert len(publisher.sent) == 3000
    _write(engine, "fresh", 3)

    def read() -> dict[str, Any]:
        with engine.connect() as conn, conn.begin():
            assert conn.execute(relay_module._TRY_LOCK, relay._lock_args).scalar()
            sql = relay._pending.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
            plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}").scalar_one()
            pending = text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            assert conn.execute(pending).scalar() == 3
        return dict(plan[0]["Plan"])

    read()  # the first read marks the published rows' entries dead
    plan = read()
    assert "Bitmap" not in json.dumps(plan)
    assert plan["Actual Rows"] == 3
    assert plan["Shared Hit Blocks"] + plan.get("Shared Read Blocks", 0) < 50, plan
