"""A tiny test domain for the messaging guarantees: numbered steps per aggregate.

Writers emit `test.step_recorded` events with a per-aggregate sequence number; the consumer
applies each step once and records any step that arrives out of order. Run as a process
(``python -m hhpu_shared.testing.steps``) so tests can SIGKILL and restart a real consumer.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from types import FrameType

from sqlalchemy import Engine, func
from sqlmodel import Field, Session, SQLModel, select

from hhpu_shared.auth import system_principal
from hhpu_shared.db import make_engine
from hhpu_shared.events.base import EventData, register
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.consumer import ConsumerRunner, HandlerRegistry
from hhpu_shared.messaging.transport import InboundMessage, MessageSource, Publisher
from hhpu_shared.migrations import service_registry
from hhpu_shared.uow import UnitOfWork, unit_of_work

# A test domain, not a service: its tables (plumbing included) are made directly by `create_tables`.
REGISTRY = service_registry("fdt")


class _Table(SQLModel, registry=REGISTRY):
    pass


@register("test.step_recorded", aggregate="fdtest")
class StepRecorded(EventData):
    aggregate: str
    seq: int


class StepApplied(_Table, table=True):
    __tablename__ = "fdt_applied"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=36, unique=True)
    aggregate: str = Field(max_length=64, index=True)
    seq: int


class StepCursor(_Table, table=True):
    __tablename__ = "fdt_cursor"

    aggregate: str = Field(primary_key=True, max_length=64)
    last_seq: int = 0
    violations: int = 0


def create_tables(engine: Engine) -> None:
    REGISTRY.metadata.create_all(engine)


class TestDomainSchema:
    """Stands in for a service's migrations in unit tests of the shared plumbing (a fake: it
    creates the test domain's tables where a real service would refuse an unmigrated database)."""

    def require_head(self, engine: Engine) -> None:
        create_tables(engine)


def apply_step(uow: UnitOfWork, data: StepRecorded, env: Envelope) -> None:
    session = uow.session
    cursor = session.get(StepCursor, data.aggregate) or StepCursor(aggregate=data.aggregate)
    if data.seq != cursor.last_seq + 1:
        cursor.violations += 1
    cursor.last_seq = max(cursor.last_seq, data.seq)
    session.add(cursor)
    session.add(StepApplied(event_id=str(env.event_id), aggregate=data.aggregate, seq=data.seq))


def registry(die_at: int = 0) -> HandlerRegistry:
    """The handler; with `die_at`, the process SIGKILLs itself while handling its `die_at`-th
    event: a crash in the middle of a batch's transaction, at a point the test knows."""
    reg = HandlerRegistry()
    handled = [0]

    @reg.handles(StepRecorded)
    def _h(uow: UnitOfWork, data: StepRecorded, env: Envelope) -> None:
        handled[0] += 1
        if die_at and handled[0] >= die_at:
            os.kill(os.getpid(), signal.SIGKILL)
        apply_step(uow, data, env)

    return reg


def write_steps(engine: Engine, aggregates: list[str], per_aggregate: int) -> None:
    """One writer: emits `per_aggregate` steps for each of its aggregates, one transaction each."""
    for seq in range(1, per_aggregate + 1):
        for agg in aggregates:
            with unit_of_work(engine, service="writer", principal=system_principal("writer")) as uow:
                uow.emit(StepRecorded(aggregate=agg, seq=seq), aggregate_id=agg)


def write_concurrently(engine: Engine, writers: int, aggs_per_writer: int, per_aggregate: int) -> int:
    threads = [
        threading.Thread(
            target=write_steps,
            args=(engine, [f"w{w}-a{a}" for a in range(aggs_per_writer)], per_aggregate),
        )
        for w in range(writers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return writers * aggs_per_writer * per_aggregate


def applied_count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(StepApplied)).one())


def applied_by_aggregate(engine: Engine) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    with Session(engine) as s:
        for row in s.exec(select(StepApplied).order_by(StepApplied.id)).all():  # type: ignore[arg-type]
            out.setdefault(row.aggregate, []).append(row.seq)
    return out


def violations(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.coalesce(func.sum(StepCursor.violations), 0))).one())


def make_runner(
    engine: Engine,
    source: MessageSource,
    dlt: Publisher,
    group: str,
    die_at: int = 0,
) -> ConsumerRunner:
    return ConsumerRunner(
        service="steps",
        group=group,
        engine=engine,
        source=source,
        registry=registry(die_at),
        dlt_publisher=dlt,
    )


def main() -> None:  # pragma: no cover - exercised as a subprocess by the kill tests
    from hhpu_shared.messaging.kafka import KafkaPublisher, KafkaSource

    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--group", required=True)
    p.add_argument(
        "--die-while-handling",
        type=int,
        default=0,
        help="SIGKILL this process while it handles its Nth event (inside the batch's transaction)",
    )
    p.add_argument(
        "--die-before-offset-commit",
        type=int,
        default=0,
        help="SIGKILL this process at the first offset commit after this many events were committed "
        "to the database: the crash between the database commit and the offset commit",
    )
    a = p.parse_args()
    engine = make_engine(a.db)
    create_tables(engine)
    source = KafkaSource(a.bootstrap, a.group, ["hhpu.fdtest.events"], namespace=a.namespace)
    dlt = KafkaPublisher(a.bootstrap, namespace=a.namespace)
    runner = make_runner(engine, source, dlt, a.group, a.die_while_handling)
    if a.die_before_offset_commit:
        commit = source.commit

        def _commit_or_die(messages: list[InboundMessage]) -> None:
            if runner.processed >= a.die_before_offset_commit:
                os.kill(os.getpid(), signal.SIGKILL)
            commit(messages)

        source.commit = _commit_or_die  # type: ignore[method-assign]
    stop = threading.Event()

    def _term(_sig: int, _frm: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _term)
    while not stop.is_set():
        runner.run_once(0.5)
    source.close()
    dlt.close()


if __name__ == "__main__":  # pragma: no cover
    main()
