"""A row the broker refuses for good (a record too large for it, say) holds its own aggregate, not the
relay: the other aggregates' events go out at once and in full, the refused aggregate's wait in order
behind its head, which is tried again when its hold ends; once it goes through, the rest follow.
(Before holds, such a row in every batch backed the whole relay off, about 100 rows a second, and a
batch filled with its aggregate's rows published nothing at all, for good.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from hhpu_shared import metrics
from hhpu_shared.db import make_engine
from hhpu_shared.messaging import relay as relay_module
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import OutboundMessage, RecordRefused
from hhpu_shared.testing import steps
from hhpu_shared.testing.steps import StepRecorded
from sqlalchemy import Engine


class _Refusing:
    """A broker that refuses aggregate ``bad``'s records while `refusing`, keeping a key's order as a
    publisher must (nothing after a failed record of its key is sent), and records what it took."""

    def __init__(self, error: type[Exception] = RecordRefused, bad: tuple[bytes, ...] = (b"bad",)) -> None:
        self.refusing = True
        self.bad = bad
        self.error = error
        self.taken: list[tuple[str, int]] = []
        self.bad_tries = 0

    def publish_batch(self, messages: list[OutboundMessage]) -> list[Exception | None]:
        out: list[Exception | None] = []
        failed: set[bytes] = set()
        for m in messages:
            if m.key in failed:
                out.append(RuntimeError("held behind a failed record of its key"))
            elif m.key in self.bad and self.refusing:
                self.bad_tries += 1
                failed.add(m.key)
                out.append(self.error("too large"))
            else:
                step = StepRecorded.model_validate(_data(m.value))
                self.taken.append((step.aggregate, step.seq))
                out.append(None)
        return out

    def close(self) -> None:
        pass


def _data(value: bytes) -> dict[str, object]:
    import json

    return dict(json.loads(value)["data"])


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/relay.db")
    steps.create_tables(engine)
    return engine


def test_a_refused_row_holds_its_aggregate_while_every_other_goes_out(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    steps.write_steps(engine, ["bad"], 250)  # the first batches are all the refused aggregate's rows
    others = [f"o{i}" for i in range(30)]
    steps.write_steps(engine, others, 10)
    broker = _Refusing()
    relay = OutboxRelay(engine, broker, service="held", batch_size=200, interval_s=0.01, max_hold_s=0.05)
    waits = [relay._step() for _ in range(4)]
    taken = [seq for agg, seq in broker.taken]
    assert len(broker.taken) == 300, waits  # every other aggregate's events, in four batches
    assert waits[:2] == [0.0, 0.0]  # no backoff while the broker takes rows
    assert relay._failures == 0 and list(relay._held) == ["bad"]
    for agg in others:  # each in order
        assert [seq for a, seq in broker.taken if a == agg] == list(range(1, 11))
    assert taken.count(1) == 30
    assert metrics.OUTBOX_HELD_AGGREGATES.labels("held")._value.get() == 1
    assert relay.pending() == 250

    broker.refusing = False  # the row is fixed (or the broker's limit raised)
    relay.drain(timeout_s=10)
    assert [seq for agg, seq in broker.taken if agg == "bad"] == list(range(1, 251))
    assert not relay._held and relay.pending() == 0
    assert metrics.OUTBOX_HELD_AGGREGATES.labels("held")._value.get() == 0
    engine.dispose()


def test_a_held_aggregate_is_not_sent_again_until_its_hold_ends(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    steps.write_steps(engine, ["bad"], 3)
    broker = _Refusing()
    relay = OutboxRelay(engine, broker, service="held2", interval_s=5.0, max_hold_s=60.0)
    assert relay.publish_pending() == 0
    assert broker.bad_tries == 1 and relay._failures == 0  # a refusal of the record: held, no backoff
    hold = relay._held["bad"]
    assert hold.failures == 1
    for _ in range(5):
        assert relay.publish_pending() == 0
    assert broker.bad_tries == 1  # left out of the reads while held
    hold.until = 0.0  # the hold ends
    assert relay.publish_pending() == 0
    assert broker.bad_tries == 2 and relay._held["bad"].failures == 2  # tried again, held longer
    assert 5.0 < relay._held["bad"].until - _monotonic() <= 10.0
    engine.dispose()


def test_a_broker_that_fails_everything_backs_the_relay_off_and_holds_nothing(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    steps.write_steps(engine, ["bad"], 2)
    broker = _Refusing(error=ConnectionError)  # not a refusal of the record: the broker is away
    relay = OutboxRelay(engine, broker, service="held3", interval_s=0.1, max_backoff_s=2.0)
    assert 0 < relay._step() <= 2.0
    assert relay._failures == 1 and not relay._held
    engine.dispose()


def test_past_the_held_limit_a_refused_row_backs_the_relay_off_not_spins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(relay_module, "MAX_HELD", 1)
    engine = _engine(tmp_path)
    steps.write_steps(engine, ["bad1", "bad2"], 1)
    broker = _Refusing(bad=(b"bad1", b"bad2"))
    relay = OutboxRelay(engine, broker, service="held4", interval_s=0.1, max_backoff_s=2.0)
    assert 0 < relay._step() <= 2.0  # bad1 held, bad2 could not be: the relay's backoff, not at once
    assert list(relay._held) == ["bad1"] and relay._failures == 1
    engine.dispose()


def _monotonic() -> float:
    import time

    return time.monotonic()
