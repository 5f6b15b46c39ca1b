"""A consumer batch claims its events in the inbox with one statement before the handlers run (SQLite
and PostgreSQL) and runs them without savepoints; a failing handler undoes the batch, which runs again
with a savepoint per event; an event dead-lettered inside the batch gives its claim back, so a replay
from the dead-letter topic applies it, and a copy of an event within one batch is applied once."""

from __future__ import annotations

from typing import Any

from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.consumer import ConsumerRunner, HandlerRegistry
from hhpu_shared.messaging.inbox import InboxRecord, claim_many, unclaim
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing import steps
from hhpu_shared.testing.statements import Statements
from prometheus_client import REGISTRY
from sqlalchemy import Engine
from sqlalchemy import event as sa_event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

TOPIC = "hhpu.fdtest.events"


def _runner(engine: Engine, bus: InProcessBus, group: str, bad: set[str]) -> ConsumerRunner:
    """The steps consumer of `group`, failing for good on the aggregates in `bad` (after writing)."""
    reg = HandlerRegistry()

    @reg.handles(steps.StepRecorded)
    def _apply(uow, data, env) -> None:  # type: ignore[no-untyped-def]
        steps.apply_step(uow, data, env)  # written first: the savepoint must undo it
        if data.aggregate in bad:
            raise RuntimeError("cannot apply")

    return steps.test_runner(engine, bus, group, reg)


def _inbox(engine: Engine, group: str) -> int:
    with Session(engine) as s:
        return len(s.exec(select(InboxRecord).where(InboxRecord.consumer_group == group)).all())


def test_a_batch_is_claimed_in_one_statement(engine: Engine) -> None:
    bus = InProcessBus()
    steps.write_steps(engine, ["a", "b"], 5)
    OutboxRelay(engine, bus.publisher(), service="t").drain()
    runner = _runner(engine, bus, "one-claim", set())
    seen = Statements(engine)
    assert runner.run_once(0) == 10
    assert seen.count("INSERT INTO inbox") == 1, seen.statements
    assert seen.count("SAVEPOINT") == 0  # every handler succeeded: no savepoint was needed
    assert _inbox(engine, "one-claim") == 10
    assert steps.applied_by_aggregate(engine) == {"a": [1, 2, 3, 4, 5], "b": [1, 2, 3, 4, 5]}


def test_claims_of_any_batch_size_are_one_statement_text_on_postgres(engine: Engine) -> None:
    """On PostgreSQL a batch's claims go as arrays: the statement's text does not grow with the batch
    (a multi-row VALUES did, and past 4 KB psycopg parsed it again on every call). A copy given twice
    and an id claimed before are still told apart."""
    seen = Statements(engine)
    with Session(engine) as s:
        assert claim_many(s, "sizes", [("e1", "T")]) == {"e1"}
        many = [(f"e{i}", "T") for i in range(200)] + [("e5", "T")]
        assert claim_many(s, "sizes", many) == {f"e{i}" for i in range(2, 200)} | {"e0"}
        s.commit()
    texts = {t for t in seen.statements if t.startswith("INSERT INTO inbox")}
    if engine.dialect.name == "postgresql":
        assert len(texts) == 1 and len(next(iter(texts))) < 500, texts
    assert _inbox(engine, "sizes") == 200


def test_a_dead_lettered_event_gives_its_claim_back_and_its_replay_applies_it(engine: Engine) -> None:
    bus = InProcessBus()
    steps.write_steps(engine, ["a", "bad", "b"], 1)
    OutboxRelay(engine, bus.publisher(), service="t").drain()
    bad = {"bad"}
    runner = _runner(engine, bus, "give-back", bad)
    assert runner.run_once(0) == 3  # one batch
    assert steps.applied_by_aggregate(engine) == {"a": [1], "b": [1]}
    assert _inbox(engine, "give-back") == 2  # the dead-lettered event's claim was undone with it
    (dead,) = bus.messages(dlt_topic(TOPIC))
    # The cause is fixed and the dead letter replayed (as `hhpu dlt replay` does): applied once.
    bad.clear()
    bus.append([OutboundMessage(TOPIC, dead.key, dead.value, [])])
    assert runner.run_once(0) == 1
    assert steps.applied_by_aggregate(engine) == {"a": [1], "b": [1], "bad": [1]}
    assert _inbox(engine, "give-back") == 3
    assert steps.violations(engine) == 0


def test_a_failing_handler_undoes_the_batch_which_is_handled_again_with_savepoints(engine: Engine) -> None:
    """A batch first runs without savepoints; when a handler fails (after writing), everything the
    batch wrote is undone and it runs again with a savepoint per event: the others are applied once,
    the failing event is dead-lettered once, alone, and its claim is given back."""
    bus = InProcessBus()
    steps.write_steps(engine, ["a", "bad", "b"], 3)
    OutboxRelay(engine, bus.publisher(), service="t").drain()
    runner = _runner(engine, bus, "redo", {"bad"})
    seen = Statements(engine)
    assert runner.run_once(0) == 9  # one batch
    assert seen.count("INSERT INTO inbox") == 2  # claimed in the first try, undone, claimed again
    assert seen.count("SAVEPOINT") >= 9  # the second try: one per event (retries of the bad ones more)
    assert steps.applied_by_aggregate(engine) == {"a": [1, 2, 3], "b": [1, 2, 3]}
    assert steps.violations(engine) == 0
    dead = bus.messages(dlt_topic(TOPIC))
    assert len(dead) == 3 and {m.key for m in dead} == {b"bad"}  # each bad event once
    assert _inbox(engine, "redo") == 6
    assert runner.processed == 6


def test_a_copy_of_an_event_in_the_same_batch_is_applied_once(engine: Engine) -> None:
    bus = InProcessBus()
    steps.write_steps(engine, ["a"], 2)
    OutboxRelay(engine, bus.publisher(), service="t").drain()
    first = bus.messages(TOPIC)[0]
    bus.append([OutboundMessage(TOPIC, first.key, first.value, [])])  # the relay published it twice
    labels = {"service": "steps", "group": "copies"}
    before = REGISTRY.get_sample_value("hhpu_consumer_duplicates_total", labels) or 0.0
    runner = _runner(engine, bus, "copies", set())
    assert runner.run_once(0) == 3
    assert steps.applied_by_aggregate(engine) == {"a": [1, 2]}
    assert runner.processed == 2
    assert REGISTRY.get_sample_value("hhpu_consumer_duplicates_total", labels) == before + 1
    # Everything again (a restart before the offset commit): no second effect, no handler run.
    bus._offsets.clear()
    runner.source.rewind()  # type: ignore[attr-defined]
    assert runner.run_once(0) == 3
    assert runner.processed == 2
    assert REGISTRY.get_sample_value("hhpu_consumer_duplicates_total", labels) == before + 4


def test_claim_many_claims_the_new_ids_once_and_unclaim_gives_one_back(engine: Engine) -> None:
    with Session(engine) as s:
        assert claim_many(s, "g", [("e1", "t"), ("e2", "t"), ("e1", "t")]) == {"e1", "e2"}
        assert claim_many(s, "g", [("e2", "t"), ("e3", "t")]) == {"e3"}
        assert claim_many(s, "other", [("e1", "t")]) == {"e1"}
        assert claim_many(s, "g", []) == set()
        unclaim(s, "g", "e2")
        assert claim_many(s, "g", [("e1", "t"), ("e2", "t")]) == {"e2"}
        s.commit()
    assert _inbox(engine, "g") == 3 and _inbox(engine, "other") == 1


def test_a_failed_batch_transaction_does_not_dead_letter_or_count_twice(engine: Engine) -> None:
    bus = InProcessBus()
    steps.write_steps(engine, ["a"], 2)
    OutboxRelay(engine, bus.publisher(), service="t").drain()
    bus.append([OutboundMessage(TOPIC, b"a", b"\x00 not an envelope", [])])
    failed = [False]

    def away_once(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT INTO inbox") and not failed[0]:
            failed[0] = True
            raise OperationalError(statement, {}, Exception("the database went away"))

    runner = _runner(engine, bus, "fallback", set())
    sa_event.listen(engine, "before_cursor_execute", away_once)
    try:
        assert runner.run_once(0) == 3  # the batch transaction failed: one event at a time
    finally:
        sa_event.remove(engine, "before_cursor_execute", away_once)
    assert failed[0] and steps.applied_by_aggregate(engine) == {"a": [1, 2]}
    assert len(bus.messages(dlt_topic(TOPIC))) == 1  # dead-lettered by the batch, not again after it
