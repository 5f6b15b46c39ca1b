"""Child process of the embedded-log crash test (not a test module itself).

``crash DIR``: a service on ``DIR/service.db`` publishes 30 steps (aggregates a and b, 15 each)
through the real OutboxRelay into the embedded log ``DIR/events.db``, in three phases:

1. steps 1-5: relayed, applied by group ``g`` through the ConsumerRunner and inbox, committed;
2. steps 6-10: relayed and applied, but the process stops inside the offset commit;
3. steps 11-15: relayed (outbox rows marked published), never consumed.

A second group ``g2`` subscribes before any of it and reads nothing. The child then prints
``{"ready": true}`` and waits to be SIGKILLed.

``recover DIR``: a new process opens the same files, runs the relay and both groups' consumers
until they have caught up, and prints what it saw as one JSON line.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from hhpu_shared.auth import system_principal
from hhpu_shared.db import make_engine
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.embedded import EmbeddedLog
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.messaging.transport import InboundMessage
from hhpu_shared.testing import steps
from hhpu_shared.uow import unit_of_work
from sqlalchemy import Engine

TOPIC = "hhpu.fdtest.events"
AGGREGATES = ("a", "b")


def emit(engine: Engine, seqs: range) -> None:
    for seq in seqs:
        for agg in AGGREGATES:
            with unit_of_work(engine, service="crash", principal=system_principal("crash")) as uow:
                uow.emit(steps.StepRecorded(aggregate=agg, seq=seq), aggregate_id=agg)


def service_engine(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    steps.create_tables(engine)
    return engine


def crash(d: Path) -> None:
    engine = service_engine(d / "service.db")
    log = EmbeddedLog(d / "events.db")
    relay = OutboxRelay(engine, log.publisher(), service="crash")
    log.source("g2", [TOPIC])  # subscribes now; consumes only after the crash
    source = log.source("g", [TOPIC])
    runner = steps.make_runner(engine, source, log.publisher(), "g")

    emit(engine, range(1, 6))
    relay.drain()
    while runner.run_once(0) > 0:
        pass

    in_commit = threading.Event()

    def commit_never_returns(messages: list[InboundMessage]) -> None:
        in_commit.set()  # every message of the batch is applied and its transaction committed
        threading.Event().wait()

    source.commit = commit_never_returns  # type: ignore[method-assign]
    emit(engine, range(6, 11))
    relay.drain()
    threading.Thread(target=runner.run_once, args=(0,), daemon=True).start()
    if not in_commit.wait(120):
        sys.exit("the consumer never reached its offset commit")

    emit(engine, range(11, 16))
    relay.drain()  # returns once the outbox rows are marked published
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    threading.Event().wait()  # until SIGKILL


def recover(d: Path) -> None:
    engine = service_engine(d / "service.db")
    log = EmbeddedLog(d / "events.db")
    relay = OutboxRelay(engine, log.publisher(), service="crash")
    pending = relay.pending()
    relay.drain()
    runners = {
        "g": steps.make_runner(engine, log.source("g", [TOPIC]), log.publisher(), "g"),
        "g2": steps.make_runner(
            service_engine(d / "service2.db"), log.source("g2", [TOPIC]), log.publisher(), "g2"
        ),
    }
    for runner in runners.values():
        while runner.run_once(0) > 0:
            pass
    report = {
        "pending_outbox": pending,
        "processed": {g: r.processed for g, r in runners.items()},
        "committed": {g: log.committed_offset(g, TOPIC) for g in runners},
        "end_offset": log.end_offset(TOPIC),
        "dead_lettered": len(log.messages(dlt_topic(TOPIC))),
    }
    log.close()
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    mode, directory = sys.argv[1], Path(sys.argv[2])
    {"crash": crash, "recover": recover}[mode](directory)
