"""A relay that hangs while it holds the publishing lock does not stop the others for good.

On PostgreSQL one replica's relay publishes at a time: it holds a transaction-scoped advisory lock
while the broker acknowledges its batch. A process that hangs there (alive, so PostgreSQL does not
end its session) used to stop every replica's relay of the service until it was restarted. The
relay's transaction now carries an idle timeout: PostgreSQL ends the hung session, the lock goes
with it, and another replica publishes the rows. Nothing is lost; the hung relay's rows were not
marked published, so they are published again (consumers' inboxes absorb a copy that did arrive).
"""

from __future__ import annotations

import threading
import time

import pytest
from hhpu_shared.auth import system_principal
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing.publishers import RecordingPublisher
from hhpu_shared.testing.steps import StepRecorded
from hhpu_shared.uow import unit_of_work
from sqlalchemy import Engine, text

pytestmark = pytest.mark.postgres


class HangingPublisher(RecordingPublisher):
    """Takes a batch and never answers until released (a process stuck mid-publish)."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()
        self.release = threading.Event()

    def publish_batch(self, messages: list[OutboundMessage]) -> list[Exception | None]:
        self.holding.set()
        self.release.wait(60)
        return super().publish_batch(messages)


def _pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar_one())


def test_a_relay_hung_while_holding_the_lock_loses_it_and_another_publishes(engine: Engine) -> None:
    with unit_of_work(engine, service="t", principal=system_principal("t")) as uow:
        for seq in (1, 2):
            uow.emit(StepRecorded(aggregate="a", seq=seq), aggregate_id="a")
    hanging = HangingPublisher()
    hung = OutboxRelay(engine, hanging, service="t", lock_idle_timeout_s=1.0)
    failed: list[BaseException] = []

    def run_hung() -> None:
        try:
            hung.publish_pending()
        except BaseException as exc:  # its session was ended under it: expected
            failed.append(exc)

    t = threading.Thread(target=run_hung)
    t.start()
    try:
        assert hanging.holding.wait(30), "the hung relay never took its batch"
        recorder = RecordingPublisher()
        other = OutboxRelay(engine, recorder, service="t")
        assert other.publish_pending() == 0  # the lock is held: the other replica waits its turn
        deadline = time.monotonic() + 30
        published = 0
        while not published and time.monotonic() < deadline:
            time.sleep(0.2)
            published = other.publish_pending()
        assert published == 2, "the other replica never got the lock: the hung one kept it"
        assert [m.key for m in recorder.sent] == [b"a", b"a"]
        assert _pending(engine) == 0
    finally:
        hanging.release.set()
        t.join(30)
    assert failed, "the hung relay's transaction should have been ended by PostgreSQL"
    assert _pending(engine) == 0  # its late answer marks nothing back to pending
