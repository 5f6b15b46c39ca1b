"""The relay when its database cannot serve: SQLite's write lock held by another writer past the busy
timeout (what `make run`'s demo seed did to the ranking-service's relay). The first two attempts in a
row are INFO (routine), the third a warning, never an error; the rows wait and go out once the lock is
free."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing import steps

TOPIC = "hhpu.fdtest.events"


def test_a_locked_database_is_routine_then_a_warning_and_the_rows_wait(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path}/relay.db"
    engine = make_engine(url, busy_timeout_s=0.05)
    steps.create_tables(engine)
    steps.write_steps(engine, ["a"], 2)
    bus = InProcessBus()
    relay = OutboxRelay(engine, bus.publisher(), service="t", interval_s=0.001)
    holder = make_engine(url)
    conn = holder.connect()
    held = conn.begin()  # BEGIN IMMEDIATE (hhpu_shared.db): another writer holds the write lock
    try:
        with caplog.at_level(logging.INFO, logger="hhpu.relay"):
            for _ in range(3):
                relay._step()
    finally:
        held.rollback()
        conn.close()
        holder.dispose()
    relay_records = [r for r in caplog.records if r.name == "hhpu.relay"]
    waiting = "outbox relay waiting for the database"
    assert [(r.levelname, r.getMessage()) for r in relay_records] == [
        ("INFO", waiting),
        ("INFO", waiting),
        ("WARNING", waiting),
    ]
    assert relay._failures == 3
    assert bus.messages(TOPIC) == []  # nothing published, nothing marked
    assert relay.pending() == 2
    relay.drain()
    assert len(bus.messages(TOPIC)) == 2
    engine.dispose()


class _FailingAggregate:
    """Acknowledges every message but those of aggregate ``bad``, which fail (the broker's failure,
    not a refusal of the record)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def publish_batch(self, messages: list[OutboundMessage]) -> list[Exception | None]:
        out: list[Exception | None] = []
        for m in messages:
            if m.key == b"bad":
                out.append(RuntimeError("refused"))
            else:
                self.sent.append(m.key)
                out.append(None)
        return out

    def close(self) -> None:
        pass


def test_the_relay_looks_again_after_publishing_and_backs_off_after_a_failure(tmp_path: Path) -> None:
    """After a full batch the relay goes on at once, and after a batch published without a failure it
    looks again at once (rows committed meanwhile); with nothing to publish it waits its interval. A
    row failing while others went out holds its aggregate, not the relay (it looks again at once);
    a batch of which nothing went out backs the relay off."""
    engine = make_engine(f"sqlite:///{tmp_path}/relay.db")
    steps.create_tables(engine)
    steps.write_steps(engine, ["a", "b", "c"], 1)
    relay = OutboxRelay(engine, InProcessBus().publisher(), service="t", batch_size=2, interval_s=5.0)
    assert relay._step() == 0.0  # a, b: a full batch
    assert relay._step() == 0.0  # c: published, so look again
    assert relay._step() == 5.0  # nothing left: the interval
    steps.write_steps(engine, ["bad", "d"], 1)
    publisher = _FailingAggregate()
    failing = OutboxRelay(engine, publisher, service="u", batch_size=10, interval_s=5.0, max_backoff_s=2.0)
    assert failing._step() == 0.0  # d published, bad failed: bad is held, the relay goes on
    assert publisher.sent == [b"d"] and failing._failures == 0 and list(failing._held) == ["bad"]
    assert 1.5 < failing._step() <= 2.0  # only bad is left, held: its hold (not a refusal: max_backoff_s)
    failing._held.clear()
    assert 0 < failing._step() <= 2.0  # bad failed and nothing went out: the relay's backoff
    assert failing._failures == 1 and not failing._held
