"""Several processes' relays on one outbox (PostgreSQL), without LISTEN/NOTIFY.

Each process's commits wake its own relay; only one relay publishes at a time (an advisory lock).
A relay that finds the lock held tries again within `busy_retry_s`, and a relay that has published
looks again at once: rows a process committed while another's relay was publishing go out within a
fraction of a second, not at the next poll (60 s here). No test waits on timing it does not bound.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from hhpu_shared.auth import system_principal
from hhpu_shared.messaging.relay import RELAY_LOCK_KEY, OutboxRelay
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing.publishers import RecordingPublisher
from hhpu_shared.testing.steps import StepRecorded
from hhpu_shared.uow import unit_of_work
from sqlalchemy import Engine, event, text

pytestmark = pytest.mark.postgres


def _commit_event(engine: Engine, aggregate: str) -> None:
    """Another process's unit of work: nothing wakes the relay under test."""
    with unit_of_work(engine, service="t", principal=system_principal("t")) as uow:
        uow.emit(StepRecorded(aggregate=aggregate, seq=1), aggregate_id=aggregate)


def _until(check: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


class GatedPublisher(RecordingPublisher):
    """Holds its first batch until `release` is set (a relay busy publishing)."""

    def __init__(self) -> None:
        super().__init__()
        self.holding, self.release = threading.Event(), threading.Event()

    def publish_batch(self, messages: list[OutboundMessage]) -> list[Exception | None]:
        if not self.holding.is_set():
            self.holding.set()
            self.release.wait(30)
        return super().publish_batch(messages)


def test_a_relay_finding_the_outbox_held_by_another_tries_again_soon(engine: Engine) -> None:
    """Its own process committed (the relay is woken) while another replica's relay holds the lock:
    once the lock is free the rows go out within a second, though the relay polls once a minute."""
    recorder = RecordingPublisher()
    relay = OutboxRelay(engine, recorder, service="t", interval_s=60.0, busy_retry_s=0.05)
    holder = engine.connect()
    try:
        holder.begin()
        assert holder.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": RELAY_LOCK_KEY}).scalar()
        relay.start()
        _commit_event(engine, "mine")
        relay.wake()  # as its own process's unit of work does on commit
        time.sleep(0.5)
        assert recorder.sent == []  # the other replica holds the outbox
        holder.rollback()  # the other replica's batch is over
        assert _until(lambda: [m.key for m in recorder.sent] == [b"mine"], 2.0)
    finally:
        relay.stop()
        holder.close()


def test_a_relay_that_published_looks_again_for_rows_committed_meanwhile(engine: Engine) -> None:
    """Rows another process committed while this relay was publishing (that process's own relay found
    the outbox held, and its retry may come after this one's batch) are published at once after the
    batch, not at the next poll."""
    publisher = GatedPublisher()
    relay = OutboxRelay(engine, publisher, service="t", interval_s=60.0)
    relay.start()
    try:
        _commit_event(engine, "first")
        relay.wake()
        assert publisher.holding.wait(10), "the relay never took its batch"
        _commit_event(engine, "meanwhile")  # no wake: another process's commit
        publisher.release.set()
        assert _until(lambda: [m.key for m in publisher.sent] == [b"first", b"meanwhile"], 2.0)
    finally:
        relay.stop()


def test_an_idle_relay_does_not_look_again(engine: Engine) -> None:
    """With nothing to publish and the outbox free, the relay sleeps its interval: one read, not a
    loop (a started relay makes its first pass at once)."""
    relay = OutboxRelay(engine, RecordingPublisher(), service="t", interval_s=60.0)
    reads: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if statement.startswith("SELECT outbox.seq"):
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    relay.start()
    try:
        assert _until(lambda: len(reads) >= 1, 5.0)
        time.sleep(0.5)
        assert len(reads) == 1
    finally:
        relay.stop()
        event.remove(engine, "before_cursor_execute", seen)
