"""The relay learns of other processes' commits from PostgreSQL (LISTEN/NOTIFY), not by polling.

On a real PostgreSQL database with the outbox's trigger (plumbing step 3): a relay that would poll
only every 60 s publishes a row committed on another connection (another process's unit of work,
which cannot wake it directly) within seconds; a rolled-back insert notifies nobody; when the
listener's connection is killed it connects again, and a commit made meanwhile is published once
it is back. On SQLite no listener is made.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hhpu_shared.auth import system_principal
from hhpu_shared.db import make_engine
from hhpu_shared.messaging.outbox_notify import CHANNEL, OutboxListener, install_outbox_notify
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.testing import steps
from hhpu_shared.testing.plugin import create_pg_database, drop_pg_database
from hhpu_shared.testing.publishers import RecordingPublisher
from hhpu_shared.testing.steps import StepRecorded
from hhpu_shared.uow import unit_of_work
from sqlalchemy import Engine, text

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_engines(postgres_admin_url: str) -> Iterator[tuple[Engine, Engine]]:
    """The relay's engine and another process's (separate pools: separate connections)."""
    url = create_pg_database(postgres_admin_url, "notify")
    relay_side, other_side = make_engine(url), make_engine(url)
    steps.create_tables(relay_side)
    with relay_side.begin() as conn:
        install_outbox_notify(conn)
    try:
        yield relay_side, other_side
    finally:
        relay_side.dispose()
        other_side.dispose()
        drop_pg_database(postgres_admin_url, url)


def _commit_event(engine: Engine, aggregate: str) -> None:
    """A unit of work with no on_commit hook: nothing in this process wakes the relay."""
    with unit_of_work(engine, service="t", principal=system_principal("t")) as uow:
        uow.emit(StepRecorded(aggregate=aggregate, seq=1), aggregate_id=aggregate)


def _until(check: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


@contextmanager
def listening_relay(engine: Engine) -> Iterator[tuple[OutboxRelay, OutboxListener, RecordingPublisher]]:
    """A started relay that would poll only once a minute, once its listener listens; stopped after."""
    recorder = RecordingPublisher()
    relay = OutboxRelay(engine, recorder, service="t", interval_s=60.0)
    assert relay.listener is not None
    relay.start()
    try:
        assert relay.listener.listening.wait(10), "the listener never listened"
        yield relay, relay.listener, recorder
    finally:
        relay.stop()


def test_another_connections_commit_wakes_a_relay_that_would_poll_once_a_minute(
    pg_engines: tuple[Engine, Engine],
) -> None:
    relay_side, other_side = pg_engines
    with listening_relay(relay_side) as (_relay, listener, recorder):
        time.sleep(0.3)  # the start-up wake's step is over: the relay now waits for 60 s
        t0 = time.monotonic()
        _commit_event(other_side, "a")
        assert _until(lambda: len(recorder.sent) == 1, 5.0), "the relay was not woken by the commit"
        assert time.monotonic() - t0 < 5.0
        assert recorder.sent[0].key == b"a"
        assert listener.notifications >= 1


def test_a_rolled_back_insert_notifies_nobody(pg_engines: tuple[Engine, Engine]) -> None:
    relay_side, other_side = pg_engines
    with listening_relay(relay_side) as (relay, listener, _recorder):
        with pytest.raises(RuntimeError):
            with unit_of_work(other_side, service="t", principal=system_principal("t")) as uow:
                uow.emit(StepRecorded(aggregate="r", seq=1), aggregate_id="r")
                uow.session.flush()
                raise RuntimeError("the request failed after the event was written")
        with other_side.begin() as conn:  # a notification of our own, after the rolled-back one
            conn.execute(text(f"NOTIFY {CHANNEL}, 'marker'"))
        assert _until(lambda: listener.notifications >= 1, 5.0)
        time.sleep(0.3)
        assert listener.notifications == 1  # the marker only
        assert relay.pending() == 0


def test_the_listener_connects_again_when_its_connection_is_killed(
    pg_engines: tuple[Engine, Engine], caplog: pytest.LogCaptureFixture
) -> None:
    relay_side, other_side = pg_engines
    with (
        listening_relay(relay_side) as (_relay, listener, recorder),
        caplog.at_level(logging.INFO, "hhpu.relay"),
    ):
        with other_side.begin() as conn:
            killed = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            ).all()
        assert killed == [(True,)]
        _commit_event(other_side, "b")  # possibly before the listener is back: its catch-up wake
        assert _until(lambda: [m.key for m in recorder.sent] == [b"b"], 10.0), recorder.sent
        assert listener.listening.wait(5)
        _commit_event(other_side, "c")
        assert _until(lambda: [m.key for m in recorder.sent] == [b"b", b"c"], 5.0), recorder.sent
    assert not listener.listening.is_set()
    lost = [r for r in caplog.records if r.getMessage().startswith("outbox listener lost the database")]
    assert [r.levelname for r in lost] == ["INFO"]  # one lost connection, back at once: no warning


def test_no_listener_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/relay.db")
    try:
        assert OutboxRelay(engine, RecordingPublisher(), service="t").listener is None
    finally:
        engine.dispose()


def test_a_listener_that_cannot_connect_says_so_at_info_then_warns(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing listens on the port: the first failed attempt is INFO (a database restarting is
    routine), the third in a row a warning; it keeps trying until stopped, and never listens."""
    engine = make_engine("postgresql+psycopg://hhpu:hhpu@127.0.0.1:1/nothing")
    listener = OutboxListener(engine, lambda: None, service="t", retry_cap_s=0.05)
    try:
        with caplog.at_level(logging.INFO, logger="hhpu.relay"):
            listener.start()
            assert _until(lambda: any(r.levelname == "WARNING" for r in caplog.records), 20.0)
            listener.stop()
    finally:
        listener.stop()
        engine.dispose()
    lost = [r for r in caplog.records if r.getMessage().startswith("outbox listener lost the database")]
    assert [r.levelname for r in lost] == ["INFO", "WARNING"]
    assert not listener.listening.is_set()
