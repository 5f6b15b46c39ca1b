"""The outbox's NOTIFY trigger of plumbing steps 3 and 5 (PostgreSQL): installed by step 3, removed by
step 5. Kept for the migrations' history only: nothing listens any more.

Step 3 made every INSERT into the outbox notify a channel, so the relay of every process learnt of
every commit at once. PostgreSQL serialises the commits of notifying transactions instance-wide (a
notifying transaction holds an exclusive lock on "database 0" from before its commit record until the
commit is done), so every writing transaction of every service database on the instance committed
one at a time: at 100 referrals/s the agenda p95 was about twice what it is without the trigger, on
this machine's unsynchronised test cluster and on a durable one alike (docs/benchmarks.md). A relay
is now woken by its own process's commits and retries soon when another replica's relay holds the
outbox (:mod:`hhpu_shared.messaging.relay`).
"""

from __future__ import annotations

from sqlalchemy import Connection, text

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
    when its transaction commits (plumbing step 3, and step 5 undone). Nothing elsewhere."""
    if conn.dialect.name == "postgresql":
        for stmt in _PG_INSTALL:
            conn.execute(text(stmt))


def remove_outbox_notify(conn: Connection) -> None:
    """The trigger and its function gone (plumbing step 5, and step 3 undone)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TRIGGER IF EXISTS outbox_notify ON outbox"))
        conn.execute(text("DROP FUNCTION IF EXISTS outbox_notify()"))
