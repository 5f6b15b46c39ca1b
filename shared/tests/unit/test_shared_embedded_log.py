"""The durable embedded log: Kafka's shape (logs per topic, offsets per group) in a SQLite file."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from hhpu_shared.messaging.embedded import EmbeddedLog
from hhpu_shared.messaging.inprocess import InProcessBus, InProcessSource
from hhpu_shared.messaging.transport import InboundMessage, OutboundMessage

T1 = "hhpu.t1.events"
T2 = "hhpu.t2.events"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def msg(topic: str, key: str, n: int) -> OutboundMessage:
    return OutboundMessage(topic, key.encode(), f"{key}-{n}".encode(), [("event_id", f"{key}{n}".encode())])


def drain(source: InProcessSource) -> list[InboundMessage]:
    out: list[InboundMessage] = []
    while batch := source.poll(0):
        out.extend(batch)
    return out


def test_is_a_bus_and_publishes_durably_before_returning(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    log = EmbeddedLog(path)
    assert isinstance(log, InProcessBus)  # accepted wherever services take a bus
    assert log.publisher().publish_batch([msg(T1, "a", 1), msg(T1, "a", 2)]) == [None, None]
    # Another connection sees the rows as soon as publish returns: they are committed.
    other = sqlite3.connect(path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = other.execute("SELECT msg_offset, msg_value FROM log_messages ORDER BY msg_offset").fetchall()
        assert rows == [(0, b"a-1"), (1, b"a-2")]
    finally:
        other.close()
        log.close()


def test_read_commit_and_resume_after_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    log = EmbeddedLog(path)
    log.publisher().publish_batch([msg(T1, "a", n) for n in range(1, 6)])
    source = log.source("g", [T1])
    got = drain(source)
    assert [m.offset for m in got] == [0, 1, 2, 3, 4]
    assert got[0].key == b"a" and got[0].value == b"a-1" and got[0].header("event_id") == "a1"
    source.commit(got[:3])
    assert source.lag() == 2  # all taken, only three committed: the other two are still being applied
    log.close()  # the process ends: the two uncommitted messages must come again

    log = EmbeddedLog(path)
    source = log.source("g", [T1])
    assert source.lag() == 2
    again = drain(source)
    assert [(m.offset, m.value) for m in again] == [(3, b"a-4"), (4, b"a-5")]
    source.commit(again)
    assert log.committed_offset("g", T1) == 5
    log.publisher().publish_batch([msg(T1, "a", 6)])  # offsets continue where they were
    assert [m.offset for m in drain(source)] == [5]
    log.close()


def test_commit_never_moves_an_offset_back_and_rewind_redelivers(tmp_path: Path) -> None:
    log = EmbeddedLog(tmp_path / "events.db")
    log.publisher().publish_batch([msg(T1, "a", n) for n in range(1, 5)])
    source = log.source("g", [T1])
    got = drain(source)
    source.commit(got)
    source.commit(got[:1])
    assert log.committed_offset("g", T1) == 4
    source.rewind(got[2:])
    assert [m.offset for m in drain(source)] == [2, 3]
    log.close()


def test_consumer_groups_are_independent(tmp_path: Path) -> None:
    log = EmbeddedLog(tmp_path / "events.db")
    log.publisher().publish_batch([msg(T1, "a", 1), msg(T2, "b", 1), msg(T1, "a", 2)])
    g1 = log.source("g1", [T1, T2])
    g2 = log.source("g2", [T1])
    got1 = drain(g1)
    g1.commit(got1)
    assert sorted((m.topic, m.offset) for m in got1) == [(T1, 0), (T1, 1), (T2, 0)]
    assert g2.lag() == 2
    got2 = drain(g2)
    assert [(m.topic, m.offset) for m in got2] == [(T1, 0), (T1, 1)]
    assert log.committed_offset("g2", T1) == 0  # g1's commit is not g2's
    g2.commit(got2[:1])
    assert (log.committed_offset("g1", T1), log.committed_offset("g1", T2)) == (2, 1)
    assert log.committed_offset("g2", T1) == 1
    log.close()


def test_retention_deletes_only_what_every_group_has_committed_and_is_old(tmp_path: Path) -> None:
    clock = Clock()
    log = EmbeddedLog(tmp_path / "events.db", retention_s=100.0, retention_check_s=1e9, clock=clock)
    fast, slow = log.source("fast", [T1]), log.source("slow", [T1])
    log.source("idle", [T2])  # subscribed, never reads: holds all of T2
    log.publisher().publish_batch([msg(T1, "a", n) for n in range(10)] + [msg(T2, "b", 0)])
    fast.commit(drain(fast))
    slow.commit(drain(slow)[:4])
    assert log.enforce_retention() == 0  # nothing is old enough yet
    clock.now += 101
    assert log.enforce_retention() == 4  # below the slowest group's committed offset
    assert log.first_offset(T1) == 4
    assert log.first_offset(T2) == 0
    assert [m.value for m in log.messages(T1)][0] == b"a-4"
    # A restarted slow consumer resumes at its committed offset, all of which is kept.
    slow.rewind()
    assert [m.offset for m in drain(slow)] == list(range(4, 10))
    # Committed but young messages stay; a forgotten group no longer holds its topic.
    log.publisher().publish_batch([msg(T1, "a", 10)])
    fast.commit(drain(fast))
    slow.commit(drain(slow))
    log.forget_group("idle")
    clock.now += 50
    assert log.enforce_retention() == 6 + 1  # T1 offsets 4..9, and T2 (no group left, old)
    assert log.first_offset(T1) == 10 and log.end_offset(T1) == 11
    clock.now += 100
    assert log.enforce_retention() == 1
    assert log.messages(T1) == [] and log.first_offset(T1) == 11
    log.publisher().publish_batch([msg(T1, "a", 11)])  # an emptied topic never reuses an offset
    assert [m.offset for m in drain(fast)] == [11]
    log.close()


def test_retention_runs_by_itself_after_commits(tmp_path: Path) -> None:
    clock = Clock()
    log = EmbeddedLog(tmp_path / "events.db", retention_s=10.0, retention_check_s=60.0, clock=clock)
    source = log.source("g", [T1])
    log.publisher().publish_batch([msg(T1, "a", n) for n in range(3)])
    got = drain(source)
    source.commit(got[:2])
    assert len(log.messages(T1)) == 3  # not checked yet
    clock.now += 61
    source.commit(got[2:])
    assert log.messages(T1) == []
    log.close()


def test_concurrent_publishers_and_consumers_keep_per_topic_order(tmp_path: Path) -> None:
    log = EmbeddedLog(tmp_path / "events.db")
    writers, batches, per_batch = 4, 25, 4
    total = writers * batches * per_batch
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            pub = log.publisher()
            for b in range(batches):
                batch = [msg(T1, f"w{w}", b * per_batch + i) for i in range(per_batch)]
                assert pub.publish_batch(batch) == [None] * per_batch
        except BaseException as exc:
            errors.append(exc)

    received: dict[str, list[InboundMessage]] = {"c1": [], "c2": []}
    done = threading.Event()

    def consume(group: str) -> None:
        try:
            source = log.source(group, [T1])
            while len(received[group]) < total and not done.is_set():
                batch = source.poll(0.2, max_records=7)
                received[group].extend(batch)
                source.commit(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=consume, args=(g,)) for g in received]
    threads += [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    done.set()
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    stored = log.messages(T1)
    assert len(stored) == total and log.end_offset(T1) == total
    for group, got in received.items():
        assert [m.offset for m in got] == list(range(total)), group
        assert [m.value for m in got] == [m.value for m in stored]
        assert log.committed_offset(group, T1) == total
    for w in range(writers):
        values = [m.value for m in stored if m.key == f"w{w}".encode()]
        assert values == [f"w{w}-{n}".encode() for n in range(batches * per_batch)]
    log.close()


def test_a_failed_append_is_reported_per_message_not_raised(tmp_path: Path) -> None:
    log = EmbeddedLog(tmp_path / "events.db")
    pub = log.publisher()
    log.close()
    results = pub.publish_batch([msg(T1, "a", 1), msg(T1, "a", 2)])
    assert len(results) == 2
    assert all(isinstance(r, sqlite3.ProgrammingError) for r in results)


def test_in_memory_log_for_tests() -> None:
    log = EmbeddedLog(":memory:")
    log.append([msg(T1, "a", 1)])
    assert [m.value for m in log.messages(T1)] == [b"a-1"]
    assert [m.offset for m in drain(log.source("g", [T1]))] == [0]
    log.close()


def test_a_poll_with_a_timeout_wakes_on_append(tmp_path: Path) -> None:
    log = EmbeddedLog(tmp_path / "events.db")
    source = log.source("g", [T1])
    got: list[InboundMessage] = []
    waiting = threading.Thread(target=lambda: got.extend(source.poll(30.0)))
    waiting.start()
    log.publisher().publish_batch([msg(T1, "a", 1)])
    waiting.join(timeout=20)
    assert not waiting.is_alive()
    assert [m.value for m in got] == [b"a-1"]
    log.close()


@pytest.mark.parametrize("make", [InProcessBus, lambda: EmbeddedLog(":memory:")])
def test_memory_and_embedded_buses_behave_alike(make) -> None:  # type: ignore[no-untyped-def]
    bus = make()
    bus.append([msg(T1, "a", 1), msg(T1, "a", 2), msg(T2, "b", 1)])
    source = bus.source("g", [T1, T2])
    first = source.poll(0, max_records=2)
    assert [(m.topic, m.offset) for m in first] == [(T1, 0), (T1, 1)]
    assert source.lag() == 3  # nothing committed yet: taken messages still count
    source.commit(first)
    assert source.lag() == 1
    source.rewind()  # a restart: resume from the committed offsets
    assert [(m.topic, m.offset) for m in drain(source)] == [(T2, 0)]
    assert [m.value for m in bus.messages(T1)] == [b"a-1", b"a-2"]
