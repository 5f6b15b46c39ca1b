"""A consumer group whose handlers do slow work outside any transaction (``outside_transaction``):
while a handler runs, another writer writes; a poll batch's events are claimed with one statement
after their handlers; a redelivered event skips its handler; a handler that keeps failing is
dead-lettered unclaimed while the rest of its batch is handled; the events a prefilter leaves out
cost its one read, no handler, no unit of work and no write; a failure in the middle of a batch
commits the offsets of the claimed events only. SQLite and PostgreSQL, with statement budgets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hhpu_shared.auth import system_principal
from hhpu_shared.db import make_engine
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.consumer import HandlerRegistry
from hhpu_shared.messaging.inbox import InboxRecord
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing import steps
from hhpu_shared.testing.statements import Statements
from hhpu_shared.uow import unit_of_work
from sqlalchemy import Engine
from sqlalchemy import event as sa_event
from sqlmodel import Session, select

TOPIC = "hhpu.fdtest.events"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url, busy_timeout_s=1.0)
    steps.create_tables(eng)
    yield eng
    eng.dispose()


def _claims(engine: Engine, group: str) -> list[str]:
    with Session(engine) as s:
        return list(s.exec(select(InboxRecord.event_id).where(InboxRecord.consumer_group == group)).all())


def _publish(engine: Engine, bus: InProcessBus, n: int, aggregates: tuple[str, ...] = ("a",)) -> None:
    steps.write_steps(engine, list(aggregates), n)
    OutboxRelay(engine, bus.publisher(), service="t").drain()


class Checkouts:
    """Pool checkouts of an engine (one per unit of work or session) while in the `with` block."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.count = engine, 0

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> Checkouts:
        sa_event.listen(self.engine, "checkout", self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        sa_event.remove(self.engine, "checkout", self._seen)


def test_the_handlers_hold_no_transaction_and_the_batch_is_claimed_after_them(engine: Engine) -> None:
    bus = InProcessBus()
    _publish(engine, bus, 2)
    seen: list[tuple[int, list[str]]] = []
    registry = HandlerRegistry(outside_transaction=True)

    @registry.handles(steps.StepRecorded)
    def slow(uow: Any, data: steps.StepRecorded, env: Any) -> None:
        # Another writer writes while the handler "posts": it would wait (then fail) on a held lock.
        with unit_of_work(engine, service="other", principal=system_principal("other")) as other:
            other.emit(steps.StepRecorded(aggregate="b", seq=data.seq), aggregate_id="b")
        seen.append((data.seq, _claims(engine, "slow")))

    runner = steps.test_runner(engine, bus, "slow", registry)
    assert runner.run_once(0.1) == 2
    assert [(seq, len(claims)) for seq, claims in seen] == [(1, 0), (2, 0)]  # claimed after both
    assert len(_claims(engine, "slow")) == 2 and runner.processed == 2
    # Delivered again (the same two events): claimed already, never handled again.
    bus.append(list(bus.messages(TOPIC)))
    assert runner.run_once(0.1) == 2 and len(seen) == 2 and runner.processed == 2


def test_a_handler_that_keeps_failing_is_dead_lettered_unclaimed_and_the_batch_goes_on(
    engine: Engine,
) -> None:
    bus = InProcessBus()
    _publish(engine, bus, 3)
    registry = HandlerRegistry(outside_transaction=True)
    calls: list[int] = []

    @registry.handles(steps.StepRecorded)
    def failing(uow: Any, data: steps.StepRecorded, env: Any) -> None:
        calls.append(data.seq)
        if data.seq == 2:
            raise ConnectionError("the partner does not answer")

    runner = steps.test_runner(engine, bus, "slow", registry)
    assert runner.run_once(0.1) == 3
    assert calls == [1, 2, 2, 3]  # max_attempts for the second, in order
    (dead,) = bus.messages(dlt_topic(TOPIC))
    assert Envelope.from_bytes(dead.value).data["seq"] == 2
    assert len(_claims(engine, "slow")) == 2
    # The dead letter replayed (as `hhpu dlt replay` does): it is unclaimed, so it is handled.
    bus.append([OutboundMessage(TOPIC, dead.key or b"", dead.value, [])])
    calls.clear()
    assert runner.run_once(0.1) == 1 and calls == [2, 2]
    assert len(_claims(engine, "slow")) == 2  # failed again: still unclaimed


def test_a_batch_is_one_read_the_handlers_and_one_claim(engine: Engine) -> None:
    bus = InProcessBus()
    _publish(engine, bus, 3)
    registry = HandlerRegistry(outside_transaction=True)
    handled: list[int] = []

    @registry.handles(steps.StepRecorded)
    def quick(uow: Any, data: steps.StepRecorded, env: Any) -> None:
        handled.append(data.seq)

    runner = steps.test_runner(engine, bus, "batch", registry)
    seen = Statements(engine, with_begin=False)
    with Checkouts(engine) as checkouts:
        assert runner.run_once(0.1) == 3
    # One read of the inbox for the batch, one INSERT claiming it; one unit of work per handler.
    assert seen.count("SELECT inbox.event_id") == 1 and seen.count("INSERT INTO inbox") == 1
    assert len(seen.statements) == 2, seen.statements
    assert checkouts.count == 1 + 3 + 1  # was 2 per event (check with handler, claim)
    assert handled == [1, 2, 3] and len(_claims(engine, "batch")) == 3


def _prefiltered(keep: set[int], handled: list[int]) -> HandlerRegistry:
    registry = HandlerRegistry(outside_transaction=True)

    @registry.handles(steps.StepRecorded)
    def post(uow: Any, data: steps.StepRecorded, env: Any) -> None:
        handled.append(data.seq)

    @registry.prefilter_batch
    def worth_it(session: Session, events: Any) -> set[str]:
        session.exec(select(steps.StepCursor.aggregate)).all()  # the one read a real prefilter makes
        return {str(env.event_id) for env, data in events if data.seq in keep}

    return registry


def test_events_the_prefilter_leaves_out_cost_its_read_only(engine: Engine) -> None:
    bus = InProcessBus()
    _publish(engine, bus, 4)
    handled: list[int] = []
    runner = steps.test_runner(engine, bus, "filtered", _prefiltered(set(), handled))
    seen = Statements(engine, with_begin=False)
    with Checkouts(engine) as checkouts:
        assert runner.run_once(0.1) == 4
    assert handled == [] and runner.processed == 4
    # The prefilter's read, in one read-only transaction: no unit of work, nothing written.
    assert len(seen.statements) == 1 and seen.statements[0].startswith("SELECT fdt_cursor"), seen.statements
    assert checkouts.count == 1
    seen.statements.clear()
    bus.append(list(bus.messages(TOPIC)))  # delivered again: the same
    assert runner.run_once(0.1) == 4 and handled == [] and runner.processed == 8
    assert len(seen.statements) == 1
    assert _claims(engine, "filtered") == []


def test_a_mixed_batch_handles_only_what_the_prefilter_keeps_in_order(engine: Engine) -> None:
    bus = InProcessBus()
    _publish(engine, bus, 5)
    handled: list[int] = []
    runner = steps.test_runner(engine, bus, "mixed", _prefiltered({2, 4}, handled))
    seen = Statements(engine, with_begin=False)
    with Checkouts(engine) as checkouts:
        assert runner.run_once(0.1) == 5
    assert handled == [2, 4] and runner.processed == 5
    # prefilter read, inbox read of the two kept; their claim after them.
    assert len(seen.statements) == 3 and seen.count("INSERT INTO inbox") == 1, seen.statements
    assert checkouts.count == 1 + 2 + 1
    assert len(_claims(engine, "mixed")) == 2


class Crash(BaseException):
    """A process dying in the middle of a batch (what a SIGKILL leaves, short of the kill)."""


def test_a_crash_mid_batch_commits_the_offsets_of_what_was_claimed_only(engine: Engine) -> None:
    bus = InProcessBus()
    _publish(engine, bus, 4)
    handled: list[int] = []
    crash_at = [3]
    registry = HandlerRegistry(outside_transaction=True)

    @registry.handles(steps.StepRecorded)
    def post(uow: Any, data: steps.StepRecorded, env: Any) -> None:
        if data.seq == crash_at[0]:
            raise Crash()
        handled.append(data.seq)

    runner = steps.test_runner(engine, bus, "crash", registry)
    with pytest.raises(Crash):
        runner.run_once(0.1)
    assert handled == [1, 2] and len(_claims(engine, "crash")) == 2  # what was handled is claimed
    crash_at[0] = 0
    assert runner.run_once(0.1) == 2  # the rest was rewound, the claimed two committed
    assert handled == [1, 2, 3, 4] and len(_claims(engine, "crash")) == 4
    assert runner.run_once(0.1) == 0


def test_a_claim_that_cannot_be_written_leaves_the_whole_batch_to_come_again(engine: Engine) -> None:
    bus = InProcessBus()
    _publish(engine, bus, 2)
    handled: list[int] = []
    registry = HandlerRegistry(outside_transaction=True)

    @registry.handles(steps.StepRecorded)
    def post(uow: Any, data: steps.StepRecorded, env: Any) -> None:
        handled.append(data.seq)

    runner = steps.test_runner(engine, bus, "noclaim", registry)

    def refuse(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO INBOX"):
            raise Crash()

    sa_event.listen(engine, "before_cursor_execute", refuse)
    try:
        with pytest.raises(Crash):
            runner.run_once(0.1)
    finally:
        sa_event.remove(engine, "before_cursor_execute", refuse)
    assert handled == [1, 2] and _claims(engine, "noclaim") == []
    # Nothing was committed: both come again, and their (idempotent) handlers run again.
    assert runner.run_once(0.1) == 2
    assert handled == [1, 2, 1, 2] and len(_claims(engine, "noclaim")) == 2


def test_a_prefilter_is_for_outside_transaction_registries_only() -> None:
    with pytest.raises(ValueError, match="outside_transaction"):
        HandlerRegistry().prefilter_batch(lambda session, events: set())
