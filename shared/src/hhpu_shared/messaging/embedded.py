"""A durable embedded log for single-process mode: Kafka's shape, stored in one SQLite file.

`EmbeddedLog` is an `InProcessBus` whose storage is a SQLite database in WAL mode with
``synchronous=FULL`` (``.run/demo/events.db`` under ``make run``):

- ``log_topics``: one row per topic with the offset its next message gets, so offsets are never
  reused, even after retention has deleted every message of a topic;
- ``log_messages``: the append-only log, one row per message, keyed by (topic, offset);
- ``log_groups``: the committed offset (the next one to read) per consumer group and topic.
  A group is known from the moment it subscribes (committed 0), so retention keeps its messages
  even before its first commit.

Durability: `append` (and so the publisher's ``publish_batch``) returns only after the SQLite
transaction holding the messages has committed and the WAL has been synced to disk, so the
relay marks an outbox row published only once its event survives a crash or power loss.
Committed offsets are written the same way. A consumer resumes from its group's committed
offsets after a restart; messages it had taken but not committed are delivered again, and the
consumer's inbox absorbs the duplicates.

Retention: a message is deleted once (a) it is older than ``retention_s`` (default 7 days)
and (b) every consumer group known for its topic has committed past it. A topic that no group
has ever subscribed to (e.g. a dead-letter topic) is trimmed by age alone, as Kafka's time
retention would. A group that is gone for good holds its topics' messages until
`forget_group` is called. Retention runs after a commit at most once per
``retention_check_s``, and on demand with `enforce_retention`.

Thread safety: one connection, used only under the bus's lock, shared by every relay and
consumer thread of the process. Offsets are assigned inside ``BEGIN IMMEDIATE`` transactions,
so a second process appending to the same file cannot corrupt the log (it is not notified of
new messages, though, and sees them on its next poll).
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.transport import InboundMessage, OutboundMessage

log = logging.getLogger("hhpu.embedded_log")

DEFAULT_RETENTION_S = 7 * 24 * 3600.0

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS log_topics (topic TEXT PRIMARY KEY, next_offset INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS log_messages (
        topic TEXT NOT NULL,
        msg_offset INTEGER NOT NULL,
        msg_key BLOB,
        msg_value BLOB NOT NULL,
        headers TEXT NOT NULL,
        appended_at REAL NOT NULL,
        PRIMARY KEY (topic, msg_offset)
    )""",
    """CREATE TABLE IF NOT EXISTS log_groups (
        group_id TEXT NOT NULL,
        topic TEXT NOT NULL,
        committed INTEGER NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (group_id, topic)
    )""",
)


def _encode_headers(headers: list[tuple[str, bytes]]) -> str:
    return json.dumps([[k, base64.b64encode(v).decode("ascii")] for k, v in headers])


def _decode_headers(raw: str) -> list[tuple[str, bytes]]:
    return [(str(k), base64.b64decode(v)) for k, v in json.loads(raw)]


class EmbeddedLog(InProcessBus):
    """The in-process bus, stored durably in SQLite at `path` (``":memory:"`` for a throwaway)."""

    def __init__(
        self,
        path: str | Path,
        *,
        retention_s: float = DEFAULT_RETENTION_S,
        retention_check_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.path = str(path)
        self.retention_s = retention_s
        self.retention_check_s = retention_check_s
        self._clock = clock
        self._last_retention = clock()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: every write below opens its own explicit transaction.
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if self.path != ":memory:" and str(mode).lower() != "wal":
            raise RuntimeError(f"the embedded log needs WAL mode, got {mode!r}")
        self._db.execute("PRAGMA synchronous=FULL")  # fsync the WAL on every commit
        self._db.execute("PRAGMA busy_timeout=30000")
        with self._cond, self._transaction() as db:
            for ddl in _SCHEMA:
                db.execute(ddl)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the caller holds the bus lock."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._cond:
            self._db.close()

    # -- storage (called with self._cond held) ----------------------------------------
    def _store(self, messages: list[OutboundMessage]) -> None:
        if not messages:
            return
        now = self._clock()
        with self._transaction() as db:
            next_offsets: dict[str, int] = {}
            rows = []
            for m in messages:
                if m.topic not in next_offsets:
                    row = db.execute(
                        "SELECT next_offset FROM log_topics WHERE topic = ?", (m.topic,)
                    ).fetchone()
                    next_offsets[m.topic] = int(row[0]) if row else 0
                off = next_offsets[m.topic]
                next_offsets[m.topic] = off + 1
                rows.append((m.topic, off, m.key, m.value, _encode_headers(m.headers), now))
            db.executemany(
                "INSERT INTO log_messages (topic, msg_offset, msg_key, msg_value, headers, appended_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            db.executemany(
                "INSERT INTO log_topics (topic, next_offset) VALUES (?, ?)"
                " ON CONFLICT (topic) DO UPDATE SET next_offset = excluded.next_offset",
                list(next_offsets.items()),
            )

    def _all(self, topic: str) -> list[OutboundMessage]:
        rows = self._db.execute(
            "SELECT msg_key, msg_value, headers FROM log_messages WHERE topic = ? ORDER BY msg_offset",
            (topic,),
        ).fetchall()
        return [
            OutboundMessage(topic, k if k is not None else b"", v, _decode_headers(h)) for k, v, h in rows
        ]

    def _read(self, topic: str, start: int, limit: int) -> list[InboundMessage]:
        rows = self._db.execute(
            "SELECT msg_offset, msg_key, msg_value, headers FROM log_messages"
            " WHERE topic = ? AND msg_offset >= ? ORDER BY msg_offset LIMIT ?",
            (topic, start, limit),
        ).fetchall()
        return [InboundMessage(topic, 0, int(o), k, v, _decode_headers(h)) for o, k, v, h in rows]

    def _end(self, topic: str) -> int:
        row = self._db.execute("SELECT next_offset FROM log_topics WHERE topic = ?", (topic,)).fetchone()
        return int(row[0]) if row else 0

    def _committed(self, group: str, topic: str) -> int:
        row = self._db.execute(
            "SELECT committed FROM log_groups WHERE group_id = ? AND topic = ?", (group, topic)
        ).fetchone()
        return int(row[0]) if row else 0

    def _commit(self, group: str, next_offsets: dict[str, int]) -> None:
        now = self._clock()
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO log_groups (group_id, topic, committed, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (group_id, topic) DO UPDATE SET"
                " committed = max(committed, excluded.committed), updated_at = excluded.updated_at",
                [(group, topic, nxt, now) for topic, nxt in next_offsets.items()],
            )
        if now - self._last_retention >= self.retention_check_s:
            try:
                self.enforce_retention(now)
            except sqlite3.Error:  # retention is housekeeping: it never fails a commit
                log.exception("embedded log retention failed")

    def _register(self, group: str, topics: list[str]) -> None:
        now = self._clock()
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO log_groups (group_id, topic, committed, updated_at) VALUES (?, ?, 0, ?)"
                " ON CONFLICT (group_id, topic) DO NOTHING",
                [(group, topic, now) for topic in topics],
            )

    # -- operations ------------------------------------------------------------------
    def enforce_retention(self, now: float | None = None) -> int:
        """Delete what every known group has committed and is older than the retention age."""
        now = self._clock() if now is None else now
        deleted = 0
        with self._cond, self._transaction() as db:
            # Per topic, below the slowest known group (the end of the log when it has none),
            # so the delete walks the (topic, offset) key instead of the whole table.
            floors = db.execute(
                "SELECT t.topic, COALESCE(MIN(g.committed), t.next_offset) FROM log_topics t"
                " LEFT JOIN log_groups g ON g.topic = t.topic GROUP BY t.topic, t.next_offset"
            ).fetchall()
            for topic, floor in floors:
                deleted += db.execute(
                    "DELETE FROM log_messages WHERE topic = ? AND msg_offset < ? AND appended_at < ?",
                    (topic, floor, now - self.retention_s),
                ).rowcount
            self._last_retention = now
        if deleted:
            log.info("embedded log retention", extra={"deleted": deleted})
        return int(deleted)

    def forget_group(self, group: str) -> None:
        """Drop a consumer group that will not come back, so it no longer holds retention."""
        with self._cond, self._transaction() as db:
            db.execute("DELETE FROM log_groups WHERE group_id = ?", (group,))

    def committed_offset(self, group: str, topic: str) -> int:
        with self._cond:
            return self._committed(group, topic)

    def end_offset(self, topic: str) -> int:
        with self._cond:
            return self._end(topic)

    def first_offset(self, topic: str) -> int:
        """The oldest offset still held for `topic` (its end offset when none is held)."""
        with self._cond:
            row = self._db.execute(
                "SELECT MIN(msg_offset) FROM log_messages WHERE topic = ?", (topic,)
            ).fetchone()
            return int(row[0]) if row[0] is not None else self._end(topic)

    def held(self, topic: str) -> list[tuple[InboundMessage, float]]:
        """Every message still held for `topic`, with the time it was appended (``hhpu dlt``)."""
        with self._cond:
            rows = self._db.execute(
                "SELECT msg_offset, msg_key, msg_value, headers, appended_at FROM log_messages"
                " WHERE topic = ? ORDER BY msg_offset",
                (topic,),
            ).fetchall()
        return [
            (InboundMessage(topic, 0, int(o), k, v, _decode_headers(h)), float(t)) for o, k, v, h, t in rows
        ]
