"""A consumer group whose handlers do slow work outside any transaction (``outside_transaction``):
while the handler runs, another writer writes; the event is claimed only after the handler returns,
a redelivered event skips the handler, and a handler that keeps failing is dead-lettered unclaimed."""

from __future__ import annotations

from typing import Any

import pytest
from hhpu_shared.auth import system_principal
from hhpu_shared.db import make_engine
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.consumer import ConsumerRunner, HandlerRegistry
from hhpu_shared.messaging.inbox import InboxRecord
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.testing import steps
from hhpu_shared.uow import unit_of_work
from sqlalchemy import Engine
from sqlalchemy import event as sa_event
from sqlmodel import Session, select

TOPIC = "hhpu.fdtest.events"


@pytest.fixture
def engine(db_url: str) -> Any:
    eng = make_engine(db_url, busy_timeout_s=1.0)
    steps.create_tables(eng)
    yield eng
    eng.dispose()


def _runner(
    engine: Engine, bus: InProcessBus, registry: HandlerRegistry, group: str = "slow"
) -> ConsumerRunner:
    return ConsumerRunner(
        service="t",
        group=group,
        engine=engine,
        source=bus.source(group, [TOPIC]),
        registry=registry,
        dlt_publisher=bus.publisher(),
        max_attempts=2,
        backoff_s=0.001,
    )


def _claims(engine: Engine, group: str) -> list[str]:
    with Session(engine) as s:
        return list(s.exec(select(InboxRecord.event_id).where(InboxRecord.consumer_group == group)).all())


def _publish(engine: Engine, bus: InProcessBus, n: int) -> None:
    steps.write_steps(engine, ["a"], n)
    OutboxRelay(engine, bus.publisher(), service="t").drain()


def test_the_handler_holds_no_transaction_and_the_event_is_claimed_after_it(engine: Engine) -> None:
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

    runner = _runner(engine, bus, registry)
    assert runner.run_once(0.1) == 2
    assert [(seq, len(claims)) for seq, claims in seen] == [(1, 0), (2, 1)]  # claimed after, one by one
    assert len(_claims(engine, "slow")) == 2
    # Delivered again (the same two events): claimed already, never handled again.
    bus.append(list(bus.messages(TOPIC)))
    assert runner.run_once(0.1) == 2 and len(seen) == 2


def test_a_handler_that_keeps_failing_is_dead_lettered_and_never_claimed(engine: Engine) -> None:
    bus = InProcessBus()
    _publish(engine, bus, 1)
    registry = HandlerRegistry(outside_transaction=True)
    calls: list[int] = []

    @registry.handles(steps.StepRecorded)
    def failing(uow: Any, data: steps.StepRecorded, env: Any) -> None:
        calls.append(data.seq)
        raise ConnectionError("the partner does not answer")

    assert _runner(engine, bus, registry).run_once(0.1) == 1
    assert calls == [1, 1]  # max_attempts
    assert len(bus.messages(dlt_topic(TOPIC))) == 1
    assert _claims(engine, "slow") == []  # a replay of the dead letter is handled


def test_each_event_is_two_units_of_work_the_check_with_the_handler_then_the_claim(engine: Engine) -> None:
    bus = InProcessBus()
    _publish(engine, bus, 3)
    registry = HandlerRegistry(outside_transaction=True)
    handled: list[int] = []

    @registry.handles(steps.StepRecorded)
    def quick(uow: Any, data: steps.StepRecorded, env: Any) -> None:
        handled.append(data.seq)

    runner = _runner(engine, bus, registry, group="two-each")
    checkouts: list[int] = []
    listener = lambda *_args: checkouts.append(1)  # noqa: E731
    sa_event.listen(engine, "checkout", listener)
    try:
        assert runner.run_once(0.1) == 3
    finally:
        sa_event.remove(engine, "checkout", listener)
    assert handled == [1, 2, 3] and len(_claims(engine, "two-each")) == 3
    assert len(checkouts) == 2 * 3  # was 3 per event: the claimed check had a unit of work of its own
