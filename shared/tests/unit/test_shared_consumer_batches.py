"""The consumer runner's batches start small after an idle poll and double while full: after a restart
or a broker outage, the first effects of a backlog are committed after a batch of 10, not of 100."""

from __future__ import annotations

from pathlib import Path

from hhpu_shared.db import make_engine
from hhpu_shared.messaging.consumer import BATCH_MAX, BATCH_MIN
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.relay import OutboxRelay
from hhpu_shared.testing import steps

TOPIC = "hhpu.fdtest.events"


def test_a_backlog_is_taken_in_batches_of_10_20_40_80_then_100(tmp_path: Path) -> None:
    writer, reader = make_engine(f"sqlite:///{tmp_path}/w.db"), make_engine(f"sqlite:///{tmp_path}/r.db")
    for e in (writer, reader):
        steps.create_tables(e)
    bus = InProcessBus()
    runner = steps.make_runner(reader, bus.source("g", [TOPIC]), bus.publisher(), "g")
    steps.write_steps(writer, ["a", "b", "c"], 100)  # a backlog of 300
    OutboxRelay(writer, bus.publisher(), service="w", batch_size=500).drain()

    taken = [runner.run_once(0.05) for _ in range(8)]
    assert (BATCH_MIN, BATCH_MAX) == (10, 100)
    assert taken == [10, 20, 40, 80, 100, 50, 0, 0]
    assert steps.applied_count(reader) == 300 and steps.violations(reader) == 0
    assert runner.batch_size == BATCH_MIN  # reset by the idle polls

    steps.write_steps(writer, ["a"], 15)  # after a quiet spell, a small first batch again
    OutboxRelay(writer, bus.publisher(), service="w").drain()
    assert [runner.run_once(0.05) for _ in range(2)] == [10, 5]
    assert steps.applied_count(reader) == 315
