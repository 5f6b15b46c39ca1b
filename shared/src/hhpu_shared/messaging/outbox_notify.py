"""Cross-process wake-ups of the outbox relay on PostgreSQL (LISTEN/NOTIFY).

Every process of a service (its API and its consumer) runs a relay for the service's one outbox. A
commit wakes its own process's relay at once (the unit of work's ``on_commit``), but rows committed
by another process, or by a relay that lost the advisory lock to that process's relay, used to wait
for the next poll. So the relays polled often (every 0.05 s in distributed mode): a query a
twentieth of a second in every process while nothing happened, about 45 ms of CPU a second each.

The outbox's statement-level trigger (`install_outbox_notify`, plumbing step 3) notifies
:data:`CHANNEL` on every INSERT into it; PostgreSQL delivers the notification when, and only if, the
transaction commits. :class:`OutboxListener` holds one connection of its own listening on the
channel and wakes the relay on each notification, so every relay learns of every commit at once and
the relay's poll is only a safety net (a notification lost while the listener reconnects).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, text

from hhpu_shared.background import ThreadLoop, backoff

log = logging.getLogger("hhpu.relay")

CHANNEL = "hhpu_outbox"

_PG_INSTALL = (
    f"""CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END
$$""",
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()",
)


def install_outbox_notify(conn: Connection) -> None:
    """On PostgreSQL, one notification on `CHANNEL` per INSERT statement into the outbox, delivered
    when its transaction commits (plumbing step 3). Nothing elsewhere."""
    if conn.dialect.name == "postgresql":
        for stmt in _PG_INSTALL:
            conn.execute(text(stmt))


def remove_outbox_notify(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER IF EXISTS outbox_notify ON outbox"))
        conn.execute(text("DROP FUNCTION IF EXISTS outbox_notify()"))


def supported(engine: Engine) -> bool:
    """PostgreSQL through psycopg: the only database and driver the listener knows."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


class OutboxListener:
    """Call `on_notify` whenever a transaction that inserted outbox rows commits in the database of
    `engine` (any process), and once each time listening (re)starts, for commits it may have missed.

    A background loop (`ThreadLoop`) with a connection of its own (not the pool's: it stays open).
    When the connection fails (PostgreSQL restarting) it connects again after a capped backoff,
    logging the loss at INFO and, when the `warn_after`-th attempt in a row fails too, as a warning;
    meanwhile the relay's poll finds the rows. `wait_s` bounds how long `stop` waits.
    """

    def __init__(
        self,
        engine: Engine,
        on_notify: Callable[[], None],
        *,
        service: str,
        wait_s: float = 0.25,
        retry_cap_s: float = 2.0,
        warn_after: int = 3,
    ) -> None:
        self.engine = engine
        self.on_notify = on_notify
        self.service = service
        self.wait_s = wait_s
        self.retry_cap_s = retry_cap_s
        self.warn_after = warn_after
        self.listening = threading.Event()
        self.notifications = 0
        self._failures = 0
        self._loop = ThreadLoop(f"outbox-listen-{service}", self._step, service=service)

    def start(self) -> None:
        self._loop.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._loop.stop(timeout_s)
        self.listening.clear()

    def _connect(self) -> Any:
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        conn = self.engine.dialect.loaded_dbapi.connect(*cargs, **cparams)
        conn.autocommit = True
        return conn

    def _step(self) -> float:
        """Listen until stopped (then 0: nothing to wait for); after a failure, the backoff before
        the next try."""
        try:
            self._listen()
            return 0.0
        except Exception as exc:  # the database went away or refused us: try again later
            self._failures += 1
            if self._failures in (1, self.warn_after):  # INFO at once; a warning if it lasts
                level = logging.WARNING if self._failures >= self.warn_after else logging.INFO
                log.log(
                    level,
                    "outbox listener lost the database; the relay polls until it is back",
                    extra={"error": type(exc).__name__, "attempt": self._failures},
                )
            return backoff(self._failures, base_s=0.1, cap_s=self.retry_cap_s)

    def _listen(self) -> None:
        conn = self._connect()
        try:
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self._failures = 0
            self.on_notify()  # rows committed while nobody listened
            while not self._loop.stopping:
                for _ in conn.notifies(timeout=self.wait_s):
                    self.notifications += 1
                    self.on_notify()
        finally:
            self.listening.clear()
            conn.close()
