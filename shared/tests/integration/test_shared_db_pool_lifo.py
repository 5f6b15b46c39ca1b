"""The pool hands out the connection returned last (issue 17): a process's work stays on its few hot
connections, so a statement it repeats reaches psycopg's prepare threshold (five runs on one connection)
and PostgreSQL keeps its plan. The pool used to hand out the connection idle longest; with the 24 an API
process keeps, the relay's two statements ran about four times on each and were planned on every batch
(pg_stat_statements: 107 plans for 107 reads), and a connection idle past the ping bound was pinged."""

from __future__ import annotations

from hhpu_shared.auth import system_principal
from hhpu_shared.db import make_engine
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.testing import steps
from hhpu_shared.testing.plugin import create_pg_database, drop_pg_database
from hhpu_shared.testing.publishers import RecordingPublisher
from hhpu_shared.testing.steps import StepRecorded
from hhpu_shared.uow import unit_of_work
from sqlalchemy import text

_PID = text("SELECT pg_backend_pid()")


def test_the_pool_hands_out_the_connection_returned_last(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=4)
    try:
        conns = [engine.connect() for _ in range(4)]
        pids = [c.execute(_PID).scalar() for c in conns]
        for c in conns:  # returned in the order they were taken
            c.close()
        with engine.connect() as conn:
            assert conn.execute(_PID).scalar() == pids[-1]
    finally:
        engine.dispose()


def test_the_relay_keeps_its_plans_beside_a_busy_pool(postgres_admin_url: str) -> None:
    url = create_pg_database(postgres_admin_url, "relaylifo")
    engine = make_engine(url, pool_size=10)
    try:
        steps.create_tables(engine)
        busy = [engine.connect() for _ in range(10)]  # an API process's burst left ten connections
        for c in busy:
            c.close()
        relay = OutboxRelay(engine, RecordingPublisher(), service="t", batch_size=50)
        for i in range(20):
            with unit_of_work(engine, service="t", principal=system_principal("t")) as uow:
                uow.emit(StepRecorded(aggregate=f"a{i}", seq=1), aggregate_id=f"a{i}")
            assert relay.publish_pending() == 1
        with engine.connect() as conn:
            plans = (
                conn.execute(
                    text(
                        "SELECT generic_plans + custom_plans FROM pg_prepared_statements"
                        " WHERE statement LIKE 'SELECT outbox.seq%' OR statement LIKE 'UPDATE outbox%'"
                    )
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
        drop_pg_database(postgres_admin_url, url)
    # Both prepared on the one connection the relay used (psycopg prepares after five runs).
    assert sorted(plans) == [15, 15], plans
