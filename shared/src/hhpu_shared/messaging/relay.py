"""The outbox relay: publishes pending rows in order, keyed by aggregate id.

One relay runs per database. On PostgreSQL a transaction-scoped advisory lock makes one
replica the publisher at a time, so per-aggregate order holds with several replicas; a replica that
hangs while holding it loses it after `LOCK_IDLE_TIMEOUT_S` (PostgreSQL ends its idle transaction). A row
that fails blocks later rows of the same aggregate until it succeeds; nothing is dropped.

A failure is the broker's or the row's. When nothing of a batch went out, the relay as a whole backs
off (the broker is away), for what is left of its backoff once the failed publish's own wait (a
connection attempt) is counted. When other rows went out, the broker is up and refused this row (too large,
say): its aggregate is *held*, left out of the batches for a backoff of its own (`max_hold_s` at
most for a record the transport refused as such, `max_backoff_s` for any other failure, a partition
without its leader for a moment, say), so one failing row neither slows every other aggregate with
the relay-wide backoff nor fills batches with rows that must wait behind it. A held aggregate's head
is retried when its hold ends; ``hhpu_outbox_held_aggregates`` and the oldest pending row's age show
it to operators.

A relay wakes when its own process commits events and every `interval_s` otherwise. Several
processes of a service (its API and its consumer, and their replicas) run a relay each; one that
finds the outbox held by another's soon tries again (`busy_retry_s`), and one that has published
looks again at once, so rows committed while another relay published are not left to the poll.
(The outbox once notified every relay of every commit, LISTEN/NOTIFY; PostgreSQL serialises the
commits of notifying transactions instance-wide, so plumbing step 5 took that away.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, Integer, String, bindparam, func, select, text, update
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from hhpu_shared import metrics
from hhpu_shared.background import ThreadLoop, backoff
from hhpu_shared.db import DATABASE_UNAVAILABLE, READ_ONLY, in_list
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.messaging.transport import (
    EVENT_ID_HEADER,
    EVENT_TYPE_HEADER,
    OutboundMessage,
    Publisher,
    RecordRefused,
)

log = logging.getLogger("hhpu.relay")
RELAY_LOCK_KEY = 7_201_162
# A wait for the database is routine once (SQLite's write lock held by a long transaction past the
# busy timeout, as `make run`'s demo seed does; PostgreSQL restarting): logged at INFO. The third
# failed attempt in a row (on SQLite, 30 s of waiting at the default busy timeout) is a warning. A
# consumer process waiting for the broker (runtime.wait_for_broker) logs by the same rule.
WARN_AFTER_WAITS = 3

# Statements built once, run as Core on the session's connection: the batch is read as plain rows
# and marked published by one UPDATE (no ORM object per event, no flush of each).
_T = OutboxRecord.__table__  # type: ignore[attr-defined]
_COLUMNS = (_T.c.seq, _T.c.id, _T.c.topic, _T.c.aggregateid, _T.c.type, _T.c.payload)
# The lock, and a bound on how long its transaction may sit idle (waiting on the broker): a relay
# whose process hangs while it holds the lock (alive, so PostgreSQL does not end its session) would
# otherwise stop every replica's relay for good. PostgreSQL ends such a session after the bound, the
# lock goes with it, and another replica publishes; a publish takes at most about 30 s (the Kafka
# publisher's max_block_ms and its 20 s deadline), so the bound never cuts a relay that works.
# The same statement also turns bitmap scans off for the relay's transaction: with few pending rows and
# many published since the last vacuum, the planner read the pending rows by a bitmap scan of the
# partial index, which visits every heap page a published row left an index entry on and never marks
# those entries dead, so each read cost more as the day went on (3.7 ms a read at 100 referrals/s,
# a fifth of PostgreSQL's CPU per referral). A plain index scan marks them dead as it passes.
_TRY_LOCK = text(
    "SELECT pg_try_advisory_xact_lock(:k), set_config('idle_in_transaction_session_timeout', :idle, true),"
    " set_config('enable_bitmapscan', 'off', true)"
)
LOCK_IDLE_TIMEOUT_S = 90.0
# On PostgreSQL ``seq = ANY(:seqs)``: one statement text whatever the batch's length, so it is compiled
# once and prepared by psycopg (an expanding IN is rendered again for every batch); elsewhere an IN.
_MARK_PUBLISHED = {
    dialect: update(_T)
    .where(in_list(_T.c.seq, "seqs", Integer, dialect))
    .values(published_at=bindparam("at"))
    for dialect in ("postgresql", "other")
}
_MARK_FAILED = (
    update(_T)
    .where(_T.c.seq == bindparam("s"))
    .values(attempts=_T.c.attempts + 1, last_error=bindparam("err"))
)
# At most this many aggregates are held at once (bounding the memory and the read's exclusion list);
# beyond it a failed row's aggregate is skipped within each batch and the relay backs off, as before holds.
MAX_HELD = 1_000


@dataclass
class _Hold:
    """A held aggregate: how many batches in a row its head failed, and when to try it again."""

    failures: int
    until: float


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        *,
        service: str,
        batch_size: int = 200,
        interval_s: float = 0.2,
        max_backoff_s: float = 2.0,
        max_hold_s: float = 30.0,
        linger_s: float = 0.0,
        busy_retry_s: float = 0.05,
        lock_idle_timeout_s: float = LOCK_IDLE_TIMEOUT_S,
    ) -> None:
        self.engine = engine
        self.publisher = publisher
        self.service = service
        self.batch_size = batch_size
        self.interval_s = interval_s
        self.max_backoff_s = max_backoff_s
        # Wait this long before a batch (unless the last one was full): the events of commits landing
        # together are read, published and marked once, where each commit's wake made a batch of its own.
        self.linger_s = linger_s
        self._lock_args = {"k": RELAY_LOCK_KEY, "idle": f"{int(lock_idle_timeout_s * 1000)}ms"}
        # While another replica's relay holds the outbox, try again this soon: the rows this process
        # committed meanwhile may not be in the batch the other is publishing.
        self.busy_retry_s = busy_retry_s
        self._full = False
        self._held_elsewhere = False
        self._just_held = False  # the last batch held an aggregate: rows behind its rows may wait
        self.max_hold_s = max_hold_s
        self._held: dict[str, _Hold] = {}
        self._pending = (
            select(*_COLUMNS).where(_T.c.published_at.is_(None)).order_by(_T.c.seq).limit(batch_size)
        )
        # The same read without the held aggregates' rows (one statement text whatever their number).
        self._pending_unheld = {
            dialect: self._pending.where(in_list(_T.c.aggregateid, "held", String, dialect, negate=True))
            for dialect in ("postgresql", "other")
        }
        self._loop = ThreadLoop(f"relay-{service}", self._step, service=service)
        self._last_gauge = 0.0
        self._failures = 0
        self._publish_s = 0.0  # how long the last batch's publish took (a failed one included)
        # Exported at 0 from the start: a counter first seen at 1 shows no increase to rate().
        metrics.OUTBOX_PUBLISH_FAILURES.labels(service)
        self._held_gauge = metrics.OUTBOX_HELD_AGGREGATES.labels(service)  # set after every batch
        self._held_gauge.set(0)

    def publish_pending(self) -> int:
        """Publish one batch; return how many rows were published."""
        with Session(self.engine, expire_on_commit=False) as session:
            conn = session.connection()
            self._held_elsewhere = self._just_held = False
            if conn.dialect.name == "postgresql":
                if not conn.execute(_TRY_LOCK, self._lock_args).scalar():
                    self._held_elsewhere = True
                    return 0
            now = time.monotonic()
            holding = [agg for agg, hold in self._held.items() if hold.until > now]
            if holding:
                read = self._pending_unheld.get(conn.dialect.name, self._pending_unheld["other"])
                rows = conn.execute(read, {"held": holding}).all()
            else:
                rows = conn.execute(self._pending).all()
            if not rows:
                session.commit()
                self._forget_holds((), set())
                return 0
            msgs = [
                OutboundMessage(
                    topic=r.topic,
                    key=r.aggregateid.encode(),
                    value=r.payload,
                    headers=[(EVENT_ID_HEADER, r.id.encode()), (EVENT_TYPE_HEADER, r.type.encode())],
                )
                for r in rows
            ]
            began = time.monotonic()
            results = self.publisher.publish_batch(msgs)
            self._publish_s = time.monotonic() - began
            published, blocked, refused = self._record(conn, rows, results)
            session.commit()
        # The broker took rows, or refused a row as such: that row's aggregate is held and the others
        # go on. Rows failed and none went out: the broker is away, the relay backs off.
        # A refused record waits up to max_hold_s, any other failure max_backoff_s. One that cannot be
        # held (MAX_HELD reached) counts as the broker's failure: the relay backs off, never spins.
        to_hold = blocked if published else refused
        in_order = dict.fromkeys(r.aggregateid for r in rows if r.aggregateid in to_hold)  # oldest first
        held = {a for a in in_order if self._hold(a, self.max_hold_s if a in refused else self.max_backoff_s)}
        self._failures = self._failures + 1 if blocked - held else 0
        self._just_held = bool(held)
        self._forget_holds(rows, held)
        if blocked:
            extra = {"failed_aggregates": len(blocked), "published": published, "held": len(self._held)}
            log.warning("outbox publish failed", extra=extra)
        return published

    def _record(
        self, conn: Any, rows: Sequence[Any], results: list[Exception | None]
    ) -> tuple[int, set[str], set[str]]:
        """Mark the published rows and count the failed ones' attempts; return how many were published,
        the aggregates with a failed row, and those whose row the transport refused as a record."""
        blocked: set[str] = set()
        refused: set[str] = set()
        published: list[int] = []
        failed: list[dict[str, Any]] = []
        for row, err in zip(rows, results, strict=True):
            if row.aggregateid in blocked:
                continue  # keep per-aggregate order behind a failed row
            if err is None:
                published.append(row.seq)
                metrics.EVENTS_PUBLISHED.labels(self.service, row.type).inc()
            else:
                blocked.add(row.aggregateid)
                if isinstance(err, RecordRefused):
                    refused.add(row.aggregateid)
                failed.append({"s": row.seq, "err": f"{type(err).__name__}: {err}"[:500]})
                metrics.OUTBOX_PUBLISH_FAILURES.labels(self.service).inc()
        if published:
            mark = _MARK_PUBLISHED.get(conn.dialect.name, _MARK_PUBLISHED["other"])
            conn.execute(mark, {"seqs": published, "at": datetime.now(UTC)})
        if failed:
            conn.execute(_MARK_FAILED, failed)
        return len(published), blocked, refused

    def _hold(self, aggregate: str, cap_s: float) -> bool:
        """Leave `aggregate` out of the batches for a backoff that grows with each failure in a row;
        False when it cannot be held (MAX_HELD aggregates are)."""
        hold = self._held.get(aggregate)
        if hold is None:
            if len(self._held) >= MAX_HELD:
                return False
            hold = self._held[aggregate] = _Hold(failures=0, until=0.0)
        hold.failures += 1
        hold.until = time.monotonic() + backoff(hold.failures, base_s=self.interval_s, cap_s=cap_s)
        return True

    def _forget_holds(self, rows: Sequence[Any], renewed: set[str]) -> None:
        """Drop the holds not renewed by this batch whose aggregate's rows went out in it (among `rows`,
        the batch read), or whose time is up (the aggregate was not in the batch: another replica
        published it, or it is later in the queue; if refused again it is held again)."""
        if self._held:
            now, read = time.monotonic(), {r.aggregateid for r in rows}
            done = [a for a, h in self._held.items() if a not in renewed and (a in read or h.until <= now)]
            for agg in done:
                del self._held[agg]
        self._held_gauge.set(len(self._held))

    def _hold_wait(self) -> float | None:
        """Seconds until the first hold ends, if any aggregate is held."""
        if not self._held:
            return None
        return max(0.0, min(hold.until for hold in self._held.values()) - time.monotonic())

    def update_gauges(self) -> None:
        with Session(self.engine) as session:
            session.connection(execution_options=READ_ONLY)  # a reader: no write lock on SQLite
            count, oldest = session.exec(
                sm_select(func.count(), func.min(OutboxRecord.created_at)).where(
                    col(OutboxRecord.published_at).is_(None)
                )
            ).one()
        metrics.OUTBOX_PENDING.labels(self.service).set(count)
        age = 0.0
        if oldest is not None:
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=UTC)
            age = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(age)

    def drain(self, timeout_s: float = 30.0) -> None:
        """Publish until nothing is pending (tests and shutdown)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.publish_pending() == 0 and self.pending() == 0:
                return
            if self._failures:
                time.sleep(self._backoff())
            elif (wait := self._hold_wait()) is not None:
                time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        raise TimeoutError("outbox not drained")

    def pending(self) -> int:
        with Session(self.engine) as session:
            return int(
                session.exec(sm_select(func.count()).where(col(OutboxRecord.published_at).is_(None))).one()
            )

    def _backoff(self) -> float:
        return backoff(self._failures + 1, base_s=self.interval_s, cap_s=self.max_backoff_s)

    def _step(self) -> float:
        if self.linger_s and not self._full:
            time.sleep(self.linger_s)
        try:
            n = self.publish_pending()
        except DATABASE_UNAVAILABLE as exc:
            # The database cannot serve now (SQLite's write lock held past the busy timeout, PostgreSQL
            # restarting): nothing was marked, the rows wait, the next step retries after the backoff.
            self._failures += 1
            level = logging.WARNING if self._failures >= WARN_AFTER_WAITS else logging.INFO
            extra = {"error": type(exc).__name__, "attempt": self._failures}
            log.log(level, "outbox relay waiting for the database", extra=extra)
            n = 0
        except Exception:
            log.exception("outbox relay batch failed")
            self._failures += 1
            n = 0
        if time.monotonic() - self._last_gauge > 2.0:
            try:
                self.update_gauges()
            except Exception:
                log.exception("outbox gauge update failed")
            self._last_gauge = time.monotonic()
        self._full = n >= self.batch_size
        if self._full:  # more are waiting: on at once
            return 0.0
        if self._failures:
            # Only what is left of the backoff once the failed publish's own wait is counted: a publish
            # that spent a whole connection attempt failing (the broker away) is retried at once, so a
            # broker that comes back is used within about a second; one refused at once still waits.
            return max(0.0, self._backoff() - self._publish_s)
        if n or self._just_held:  # look again at once: rows committed meanwhile, rows behind held ones
            return 0.0
        wait = self.busy_retry_s if self._held_elsewhere else self.interval_s
        hold_wait = self._hold_wait()
        return wait if hold_wait is None else min(wait, hold_wait)

    def wake(self) -> None:
        """Publish now rather than at the next interval (a unit of work committed events)."""
        self._loop.wake()

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
