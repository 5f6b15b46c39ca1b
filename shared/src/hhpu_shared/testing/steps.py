"""A tiny test domain for the messaging guarantees: numbered steps per aggregate.

Writers emit `test.step_recorded` events with a per-aggregate sequence number; the consumer
applies each step once and records any step that arrives out of order. Run as a process
(``python -m hhpu_shared.testing.steps``) so tests can SIGKILL and restart a real consumer.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
import time
from types import FrameType
from typing import Any

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


class PacedWriter:
    """A writer thread: one step for each aggregate every `every_s` until stopped, so events keep
    arriving while a test kills and restarts things. `seq` is the last sequence number written."""

    def __init__(self, engine: Engine, aggregates: list[str], every_s: float = 0.1) -> None:
        self.engine, self.aggregates, self.every_s = engine, aggregates, every_s
        self.seq = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paced-writer", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            seq = self.seq + 1
            for agg in self.aggregates:
                with unit_of_work(self.engine, service="writer", principal=system_principal("writer")) as uow:
                    uow.emit(StepRecorded(aggregate=agg, seq=seq), aggregate_id=agg)
            self.seq = seq
            self._stop.wait(self.every_s)

    def __enter__(self) -> PacedWriter:
        self._thread.start()
        return self

    def stop(self) -> int:
        """Stop writing; the number of events written."""
        self._stop.set()
        self._thread.join(60)
        return self.seq * len(self.aggregates)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def applied_count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(StepApplied)).one())


def applied_by_aggregate(engine: Engine) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    with Session(engine) as s:
        for row in s.exec(select(StepApplied).order_by(StepApplied.id)).all():  # type: ignore[arg-type]
            out.setdefault(row.aggregate, []).append(row.seq)
    return out


def last_seq(engine: Engine) -> dict[str, int]:
    """Aggregate -> the highest step applied."""
    with Session(engine) as s:
        rows = s.exec(
            select(StepApplied.aggregate, func.max(StepApplied.seq)).group_by(StepApplied.aggregate)
        )
        return {str(a): int(m) for a, m in rows.all()}


def violations(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.coalesce(func.sum(StepCursor.violations), 0))).one())


def make_runner(
    engine: Engine,
    source: MessageSource,
    dlt: Publisher,
    group: str,
    die_at: int = 0,
    outside: bool = False,
) -> ConsumerRunner:
    return ConsumerRunner(
        service="steps",
        group=group,
        engine=engine,
        source=source,
        registry=outside_registry(engine, die_at) if outside else registry(die_at),
        dlt_publisher=dlt,
    )


def outside_registry(engine: Engine, die_at: int = 0) -> HandlerRegistry:
    """The handler as an ``outside_transaction`` group runs it: on a read-only unit of work, writing
    in a unit of work of its own, idempotent by event id (a crash before the batch's claim repeats it).
    With `die_at`, the process SIGKILLs itself while handling its `die_at`-th event, before its write."""
    reg = HandlerRegistry(outside_transaction=True)
    handled = [0]

    @reg.handles(StepRecorded)
    def _h(uow: UnitOfWork, data: StepRecorded, env: Envelope) -> None:
        handled[0] += 1
        if die_at and handled[0] >= die_at:
            os.kill(os.getpid(), signal.SIGKILL)
        with unit_of_work(engine, service=uow.service, principal=uow.principal) as own:
            done = select(StepApplied.id).where(StepApplied.event_id == str(env.event_id))
            if own.session.exec(done).first() is None:
                apply_step(own, data, env)

    return reg


def test_runner(
    engine: Engine, bus: Any, group: str, registry: HandlerRegistry, *, topic: str = "hhpu.fdtest.events"
) -> ConsumerRunner:
    """A runner of `registry` on an in-process bus's steps topic, retrying at once (unit tests)."""
    return ConsumerRunner(
        service="steps",
        group=group,
        engine=engine,
        source=bus.source(group, [topic]),
        registry=registry,
        dlt_publisher=bus.publisher(),
        max_attempts=2,
        backoff_s=0.001,
    )


test_runner.__test__ = False  # type: ignore[attr-defined]  # not a test, for pytest


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
    p.add_argument(
        "--outside",
        action="store_true",
        help="handle as an outside_transaction group (handler writes on its own, batch claimed after)",
    )
    p.add_argument("--instance-id", default="", help="static group membership (group.instance.id)")
    p.add_argument(
        "--status-file",
        default="",
        help="write {started, partitions} here as JSON: when the process had started (before it joined "
        "the group) and the partitions it holds, rewritten when they change",
    )
    p.add_argument(
        "--start-when",
        default="",
        help="once imported and connected, wait (up to 300 s) for this file to exist before joining the "
        "group: a test can then start a consumer the instant another dies, however slow start-up is",
    )
    a = p.parse_args()
    # With a status file (the recovery tests, which keep each process's output in a file of its
    # own), the group's joins and assignments go to stderr too: a test that times out shows them.
    level = logging.INFO if a.status_file else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    engine = make_engine(a.db)
    create_tables(engine)
    status = _Status(a.status_file)
    if a.start_when:
        status.update(waiting=True, started=None)
        deadline = time.monotonic() + 300
        while not os.path.exists(a.start_when) and time.monotonic() < deadline:
            time.sleep(0.01)
        status.update(waiting=False, started=time.time())
    source = KafkaSource(
        a.bootstrap, a.group, ["hhpu.fdtest.events"], namespace=a.namespace, instance_id=a.instance_id
    )
    dlt = KafkaPublisher(a.bootstrap, namespace=a.namespace)
    runner = make_runner(engine, source, dlt, a.group, a.die_while_handling, a.outside)
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
        runner.run_once(0.2)
        status.partitions(source.partitions())
    source.close()
    status.partitions([])
    dlt.close()


class _Status:
    """The consumer process's state for a test that restarts it (see --status-file)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.state: dict[str, object] = {"pid": os.getpid(), "started": time.time(), "partitions": None}
        self._write()

    def partitions(self, held: list[int]) -> None:
        if held != self.state["partitions"]:
            self.update(partitions=held)

    def update(self, **values: object) -> None:
        self.state.update(values)
        self._write()

    def _write(self) -> None:
        if self.path:
            tmp = f"{self.path}.{os.getpid()}.tmp"
            with open(tmp, "w") as f:
                json.dump(self.state, f)
            os.replace(tmp, self.path)


if __name__ == "__main__":  # pragma: no cover
    main()
