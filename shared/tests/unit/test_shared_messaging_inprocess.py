"""Outbox, relay, inbox and consumer runner over the in-process bus (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from hhpu_shared.auth import system_principal
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.inbox import claim
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.testing import steps
from hhpu_shared.uow import unit_of_work
from sqlalchemy import event as sa_event
from sqlmodel import Session, select

TOPIC = "hhpu.fdtest.events"


def test_rollback_writes_and_publishes_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    bus = InProcessBus()
    with (
        pytest.raises(RuntimeError),
        unit_of_work(engine, service="t", principal=system_principal("t")) as uow,
    ):
        uow.emit(steps.StepRecorded(aggregate="a", seq=1), aggregate_id="a")
        raise RuntimeError("business rule failed")
    relay = OutboxRelay(engine, bus.publisher(), service="t")
    assert relay.publish_pending() == 0
    with Session(engine) as s:
        assert s.exec(select(OutboxRecord)).all() == []
    assert bus.messages(TOPIC) == []


def test_relay_publishes_in_order_keyed_by_aggregate_and_marks_published(engine) -> None:  # type: ignore[no-untyped-def]
    bus = InProcessBus()
    steps.write_steps(engine, ["x", "y"], 3)
    relay = OutboxRelay(engine, bus.publisher(), service="t", batch_size=4)
    relay.drain()
    msgs = bus.messages(TOPIC)
    assert [(m.key, Envelope.from_bytes(m.value).data["seq"]) for m in msgs] == [
        (b"x", 1),
        (b"y", 1),
        (b"x", 2),
        (b"y", 2),
        (b"x", 3),
        (b"y", 3),
    ]
    assert all(dict(m.headers)["event_type"] == b"test.step_recorded" for m in msgs)
    assert relay.pending() == 0


class FlakyPublisher:
    """Fails every message of aggregate `bad` for the first `fail_times` batches."""

    def __init__(self, bus: InProcessBus, fail_times: int) -> None:
        self.bus = bus
        self.fail_times = fail_times

    def publish_batch(self, messages: list[OutboundMessage]) -> list[Exception | None]:
        out: list[Exception | None] = []
        for m in messages:
            if m.key == b"bad" and self.fail_times > 0:
                out.append(ConnectionError("broker unavailable"))
            else:
                self.bus.append([m])
                out.append(None)
        self.fail_times -= 1
        return out

    def close(self) -> None:
        return None


def test_failed_row_blocks_its_aggregate_counts_failures_and_retries(engine) -> None:  # type: ignore[no-untyped-def]
    bus = InProcessBus()
    steps.write_steps(engine, ["bad", "good"], 2)
    relay = OutboxRelay(engine, FlakyPublisher(bus, fail_times=2), service="t", interval_s=0.001)
    assert relay.publish_pending() == 2  # only "good" went out
    with Session(engine) as s:
        bad = s.exec(
            select(OutboxRecord).where(OutboxRecord.aggregateid == "bad").order_by(OutboxRecord.seq)
        ).all()
    assert [r.attempts for r in bad] == [1, 0]  # the second waits behind the first
    assert bad[0].last_error and "broker unavailable" in bad[0].last_error
    relay.drain()
    seqs = [Envelope.from_bytes(m.value).data["seq"] for m in bus.messages(TOPIC) if m.key == b"bad"]
    assert seqs == [1, 2]


def test_inbox_claims_an_event_once(engine) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        assert claim(s, "g", "e1", "t") is True
        assert claim(s, "g", "e1", "t") is False
        assert claim(s, "other-group", "e1", "t") is True
        s.commit()


def test_consumer_applies_redelivered_events_once_and_keeps_order(engine) -> None:  # type: ignore[no-untyped-def]
    bus = InProcessBus()
    steps.write_steps(engine, ["a", "b"], 5)
    OutboxRelay(engine, bus.publisher(), service="t").drain()
    source = bus.source("g1", [TOPIC])
    runner = steps.make_runner(engine, source, bus.publisher(), "g1")
    while runner.run_once(0) > 0:
        pass
    # A restart before the offset commit redelivers everything: no second effect.
    bus._offsets.clear()
    source.rewind()
    while runner.run_once(0) > 0:
        pass
    assert steps.applied_count(engine) == 10
    assert steps.applied_by_aggregate(engine) == {"a": [1, 2, 3, 4, 5], "b": [1, 2, 3, 4, 5]}
    assert steps.violations(engine) == 0


def test_poison_messages_go_to_dead_letter_and_consumer_carries_on(engine) -> None:  # type: ignore[no-untyped-def]
    bus = InProcessBus()
    bus.append([OutboundMessage(TOPIC, b"p", b"not json at all", [("event_id", b"x")])])
    bad_data = Envelope(
        type="test.step_recorded",
        producer="t",
        correlation_id="c",
        aggregate_type="fdtest",
        aggregate_id="p",
        data={"aggregate": "p", "seq": "not-a-number"},
    )
    bus.append([OutboundMessage(TOPIC, b"p", bad_data.to_bytes(), [])])
    steps.write_steps(engine, ["ok"], 2)
    OutboxRelay(engine, bus.publisher(), service="t").drain()
    runner = steps.make_runner(engine, bus.source("g", [TOPIC]), bus.publisher(), "g")
    while runner.run_once(0) > 0:
        pass
    assert steps.applied_by_aggregate(engine) == {"ok": [1, 2]}
    dead = bus.messages(dlt_topic(TOPIC))
    assert len(dead) == 2
    headers = dict(dead[0].headers)
    assert headers["dlt_original_topic"] == TOPIC.encode()
    assert headers["dlt_original_offset"] == b"0"
    assert headers["dlt_error_type"] == b"ValidationError"
    assert dict(dead[1].headers)["dlt_error_type"] == b"ValidationError"


def _retrying_runner(engine, bus: InProcessBus, reg, max_attempts: int):  # type: ignore[no-untyped-def]
    """The consumer of group "g" on TOPIC with `reg`'s handlers, retrying almost at once."""
    from hhpu_shared.messaging.consumer import ConsumerRunner

    return ConsumerRunner(
        service="t",
        group="g",
        engine=engine,
        source=bus.source("g", [TOPIC]),
        registry=reg,
        dlt_publisher=bus.publisher(),
        max_attempts=max_attempts,
        backoff_s=0.001,
    )


def test_handler_errors_are_retried_then_dead_lettered(engine) -> None:  # type: ignore[no-untyped-def]
    bus = InProcessBus()
    calls = {"n": 0}
    reg = steps.registry()

    reg.handlers.clear()

    @reg.handles(steps.StepRecorded)
    def _flaky(uow, data, env) -> None:  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if env.data["aggregate"] == "always-bad":
            raise RuntimeError("cannot apply")
        if calls["n"] == 1:
            raise RuntimeError("transient")
        steps.apply_step(uow, data, env)

    steps.write_steps(engine, ["good"], 1)
    steps.write_steps(engine, ["always-bad"], 1)
    OutboxRelay(engine, bus.publisher(), service="t").drain()
    runner = _retrying_runner(engine, bus, reg, max_attempts=3)
    while runner.run_once(0) > 0:
        pass
    assert steps.applied_by_aggregate(engine) == {"good": [1]}
    assert calls["n"] == 2 + 3
    assert len(bus.messages(dlt_topic(TOPIC))) == 1
    with Session(engine) as s:
        from hhpu_shared.messaging.inbox import InboxRecord

        assert len(s.exec(select(InboxRecord)).all()) == 1  # the failed one left no inbox row


def test_a_failed_offset_commit_loses_nothing_and_the_redelivery_is_absorbed(engine) -> None:  # type: ignore[no-untyped-def]
    bus = InProcessBus()
    steps.write_steps(engine, ["a"], 3)
    OutboxRelay(engine, bus.publisher(), service="t").drain()
    source = bus.source("g", [TOPIC])
    real_commit = source.commit
    failures = {"left": 1}

    def flaky_commit(messages):  # type: ignore[no-untyped-def]
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("broker away")
        real_commit(messages)

    source.commit = flaky_commit  # type: ignore[method-assign]
    runner = steps.make_runner(engine, source, bus.publisher(), "g")
    assert runner.run_once(0) == 3  # handled although the commit failed
    source.rewind()  # a restart before any commit succeeded: everything again
    while runner.run_once(0) > 0:
        pass
    assert steps.applied_by_aggregate(engine) == {"a": [1, 2, 3]}
    assert bus._offsets[("g", TOPIC)] == 3


def test_a_batch_is_one_transaction_and_a_bad_event_is_undone_and_dead_lettered_alone(engine) -> None:  # type: ignore[no-untyped-def]
    from hhpu_shared.messaging.inbox import InboxRecord

    bus = InProcessBus()
    reg = steps.registry()
    reg.handlers.clear()

    @reg.handles(steps.StepRecorded)
    def _apply_then_maybe_fail(uow, data, env) -> None:  # type: ignore[no-untyped-def]
        steps.apply_step(uow, data, env)  # written first: the savepoint must undo it
        if env.data["aggregate"] == "bad":
            raise RuntimeError("cannot apply")

    steps.write_steps(engine, ["a", "bad", "b"], 2)
    OutboxRelay(engine, bus.publisher(), service="t").drain()
    runner = _retrying_runner(engine, bus, reg, max_attempts=2)
    assert runner.run_once(0) == 6  # one poll, one batch
    assert runner.run_once(0) == 0  # offsets committed after the batch's commit
    assert steps.applied_by_aggregate(engine) == {"a": [1, 2], "b": [1, 2]}
    dead = bus.messages(dlt_topic(TOPIC))
    assert len(dead) == 2 and all(b"bad" in m.value for m in dead)
    with Session(engine) as s:
        assert len(s.exec(select(InboxRecord)).all()) == 4


def test_alerting_counters_are_exported_at_zero_before_the_first_failure(engine) -> None:  # type: ignore[no-untyped-def]
    """A labelled counter first seen at 1 shows no increase() to Prometheus, so the dead-letter and
    publish-failure alerts would never fire on a first failure: they must exist at 0 from the start."""
    from prometheus_client import REGISTRY

    bus = InProcessBus()
    steps.make_runner(engine, bus.source("zero", [TOPIC]), bus.publisher(), "zero")
    OutboxRelay(engine, bus.publisher(), service="zero-relay")
    labels = {"service": "steps", "group": "zero"}
    assert REGISTRY.get_sample_value("hhpu_events_dead_lettered_total", {**labels, "topic": TOPIC}) == 0.0
    assert (
        REGISTRY.get_sample_value("hhpu_events_failed_total", {**labels, "type": "test.step_recorded"}) == 0.0
    )
    assert REGISTRY.get_sample_value("hhpu_consumer_duplicates_total", labels) == 0.0
    assert REGISTRY.get_sample_value("hhpu_outbox_publish_failures_total", {"service": "zero-relay"}) == 0.0


def test_a_failed_attempt_in_a_batch_leaves_no_audit_entry(engine) -> None:  # type: ignore[no-untyped-def]
    """A handler that audits then fails: its entries are undone with it (an attempt's buffered
    entries are not written by the next event's savepoint), and the chain stays intact."""
    from hhpu_shared.audit import AuditEntry, AuditOperation, verify_chain

    bus = InProcessBus()
    reg = steps.registry()
    reg.handlers.clear()
    calls = {"n": 0}

    @reg.handles(steps.StepRecorded)
    def _audit_then_maybe_fail(uow, data, env) -> None:  # type: ignore[no-untyped-def]
        calls["n"] += 1
        agg = env.data["aggregate"]
        uow.audit(AuditOperation.COLLECT, subject_type="step", subject_id=agg, justification="test")
        if agg == "bad" or (agg == "flaky" and calls["n"] == 2):
            raise RuntimeError("cannot apply")
        steps.apply_step(uow, data, env)

    steps.write_steps(engine, ["good"], 1)
    steps.write_steps(engine, ["flaky"], 1)
    steps.write_steps(engine, ["bad"], 1)
    steps.write_steps(engine, ["last"], 1)
    OutboxRelay(engine, bus.publisher(), service="t").drain()
    runner = _retrying_runner(engine, bus, reg, max_attempts=2)
    audit_statements: list[str] = []

    def count(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if "audit_log" in statement.lower():
            audit_statements.append(statement.lstrip().split()[0].upper())

    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        assert runner.run_once(0) == 4  # one batch
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    assert steps.applied_by_aggregate(engine) == {"good": [1], "flaky": [1], "last": [1]}
    # The batch's entries are written together at its commit: one insert for the three events, not
    # one per event (SQLite: after one head read; PostgreSQL's trigger links them at commit).
    assert audit_statements == (["INSERT"] if engine.dialect.name == "postgresql" else ["SELECT", "INSERT"])
    with Session(engine) as s:
        subjects = sorted(e.subject_id for e in s.exec(select(AuditEntry)).all())
        assert subjects == ["flaky", "good", "last"]  # once each; nothing of the failed attempts
        assert verify_chain(s).ok
