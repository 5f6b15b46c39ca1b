"""A process SIGKILLed after its relay marked events published, before they were consumed:
a new process on the same files (service database and embedded log) applies every event
exactly once. Real OutboxRelay, ConsumerRunner and inbox; see embedded_crash_child.py."""

from __future__ import annotations

import json
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from hhpu_shared.db import make_engine
from hhpu_shared.testing import steps

CHILD = Path(__file__).with_name("embedded_crash_child.py")
TOPIC = "hhpu.fdtest.events"


def read_line(proc: subprocess.Popen[bytes], timeout_s: float) -> str:
    """The child's first stdout line, or a failure once the child exits or the time is up."""
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                return proc.stdout.readline().decode()
        raise AssertionError(f"no line from the child within {timeout_s}s")
    finally:
        sel.close()


def query(path: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_sigkill_after_relaying_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    stderr = open(tmp_path / "child.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), "crash", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=stderr,
        start_new_session=True,
    )
    try:
        line = read_line(proc, timeout_s=180)
        assert json.loads(line or "{}") == {"ready": True}, (tmp_path / "child.log").read_text()[-3000:]
        # The state the kill interrupts: all 30 outbox rows published, 30 events in the log, the
        # first 10 applied and committed, the next 10 applied but not committed, 10 not consumed.
        service_db, events_db = tmp_path / "service.db", tmp_path / "events.db"
        assert query(service_db, "SELECT count(*), count(published_at) FROM outbox") == [(30, 30)]
        assert query(events_db, "SELECT count(*) FROM log_messages WHERE topic = ?", TOPIC) == [(30,)]
        assert query(events_db, "SELECT group_id, committed FROM log_groups ORDER BY group_id") == [
            ("g", 10),
            ("g2", 0),
        ]
        engine = make_engine(f"sqlite:///{service_db}")
        assert steps.applied_by_aggregate(engine) == {"a": list(range(1, 11)), "b": list(range(1, 11))}
        engine.dispose()
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        stderr.close()

    done = subprocess.run(
        [sys.executable, str(CHILD), "recover", str(tmp_path)], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["pending_outbox"] == 0  # nothing left for the relay: the log had to keep it all
    # g resumed at its committed offset 10: the 10 applied-but-uncommitted events came again and
    # the inbox absorbed them; only the 10 never-consumed ones were applied. g2 read everything.
    assert report["processed"] == {"g": 10, "g2": 30}
    assert report["committed"] == {"g": 30, "g2": 30}
    assert report["end_offset"] == 30
    assert report["dead_lettered"] == 0  # a second apply would fail on the unique event id
    for db, group in ((tmp_path / "service.db", "g"), (tmp_path / "service2.db", "g2")):
        engine = make_engine(f"sqlite:///{db}")
        try:
            assert steps.applied_by_aggregate(engine) == {"a": list(range(1, 16)), "b": list(range(1, 16))}
            assert steps.violations(engine) == 0
        finally:
            engine.dispose()
        inbox = "SELECT count(*), count(DISTINCT event_id) FROM inbox WHERE consumer_group = ?"
        assert query(db, inbox, group) == [(30, 30)]
