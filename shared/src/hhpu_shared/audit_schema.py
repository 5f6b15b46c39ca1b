"""The audit log's database-side parts, used by the services' migrations (plumbing steps 2 and 4).

- The append-only guard: on PostgreSQL a trigger refuses UPDATE and DELETE on ``audit_log`` and on
  ``audit_chain``, whoever sends them.
- The chain at commit (step 4): on PostgreSQL a deferred constraint trigger on ``audit_log`` links a
  transaction's entries when it commits. Its first firing takes the chain's advisory lock and reads
  the head; each firing links its entry (one row into ``audit_chain``) and keeps the new head for the
  next in a transaction-local setting. The lock is therefore held only from that moment to
  the end of the commit, inside the server, never across a round trip to the application (the
  writers used to take it before their INSERT and hold it through their COMMIT's round trip, which
  serialised every writing transaction of a database). ``audit_chain.seq`` is unique, so two
  transactions can never both extend the same head (a snapshot older than the head's commit, in a
  REPEATABLE READ transaction, fails to commit rather than fork the chain).
- History: step 2 chained ``audit_log`` rows in id order with ``sha256(prev | canonical JSON)``
  (:func:`legacy_entry_hash`); step 4 checks that chain, gives every row its own ``row_hash`` and
  moves the links to ``audit_chain`` with ``sha256(prev | row_hash)``, which the trigger can compute
  without re-encoding the row's fields in SQL.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table

from hhpu_shared.audit import (
    CHAIN_LOCK_KEY,
    GENESIS,
    HASHED_FIELDS,
    AuditEntry,
    canonical_body,
    link_hash,
    row_hash,
)

_PG_APPEND_ONLY = (
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
)
_PG_CHAIN_APPEND_ONLY = (
    "DROP TRIGGER IF EXISTS audit_chain_append_only ON audit_chain",
    "CREATE TRIGGER audit_chain_append_only BEFORE UPDATE OR DELETE ON audit_chain "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
)

# The link formula is link_hash()'s: sha256 over "<previous entry_hash>|<row_hash>" as UTF-8, in hex.
# A transaction's first firing takes the lock and reads the head; each firing links its own entry and
# keeps the new head in 'hhpu.audit_head' ("<seq>:<entry_hash>", transaction-local) for the next one.
_PG_CHAIN = (
    f"""CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head text := current_setting('hhpu.audit_head', true);
  head_seq bigint;
  head_hash text;
  link text;
BEGIN
  IF coalesce(head, '') = '' THEN
    PERFORM pg_advisory_xact_lock({int(CHAIN_LOCK_KEY)});
    SELECT c.seq, c.entry_hash INTO head_seq, head_hash FROM audit_chain c ORDER BY c.seq DESC LIMIT 1;
    head_seq := coalesce(head_seq, 0);
    head_hash := coalesce(head_hash, '{GENESIS}');
  ELSE
    head_seq := split_part(head, ':', 1)::bigint;
    head_hash := split_part(head, ':', 2);
  END IF;
  link := encode(sha256(convert_to(head_hash || '|' || NEW.row_hash, 'UTF8')), 'hex');
  INSERT INTO audit_chain (seq, entry_id, prev_hash, entry_hash)
    VALUES (head_seq + 1, NEW.id, head_hash, link);
  PERFORM set_config('hhpu.audit_head', (head_seq + 1)::text || ':' || link, true);
  RETURN NULL;
END $$""",
    "DROP TRIGGER IF EXISTS audit_log_chain ON audit_log",
    "CREATE CONSTRAINT TRIGGER audit_log_chain AFTER INSERT ON audit_log "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_log_chain()",
)


def _run(conn: Any, statements: tuple[str, ...]) -> None:
    if conn.dialect.name == "postgresql":
        for stmt in statements:
            conn.execute(text(stmt))


def install_append_only_guard(conn: Any) -> None:
    """On PostgreSQL, a trigger refuses UPDATE and DELETE on the audit log (a migration step)."""
    _run(conn, _PG_APPEND_ONLY)


def remove_append_only_guard(conn: Any) -> None:
    _run(conn, ("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",))
    _run(conn, ("DROP FUNCTION IF EXISTS audit_log_append_only()",))


def install_chain_trigger(conn: Any) -> None:
    """On PostgreSQL, the trigger that links entries at commit, and the links' append-only guard
    (which needs :func:`install_append_only_guard`'s function; created here if missing)."""
    _run(conn, (_PG_APPEND_ONLY[0], *_PG_CHAIN_APPEND_ONLY, *_PG_CHAIN))


def install_chain_trigger_once(conn: Any, lock_key: int) -> None:
    """On PostgreSQL, :func:`install_chain_trigger` unless the trigger is there, under the advisory
    lock `lock_key` held to the end of the transaction: several processes creating the same tables at
    once would otherwise replace its functions together ("tuple concurrently updated")."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
    found = "SELECT 1 FROM pg_trigger WHERE tgname = 'audit_log_chain' AND tgrelid = 'audit_log'::regclass"
    if conn.execute(text(found)).first() is None:
        install_chain_trigger(conn)


def remove_chain_trigger(conn: Any) -> None:
    _run(
        conn,
        (
            "DROP TRIGGER IF EXISTS audit_log_chain ON audit_log",
            "DROP FUNCTION IF EXISTS audit_log_chain()",
            "DROP TRIGGER IF EXISTS audit_chain_append_only ON audit_chain",
        ),
    )


# --- history ----------------------------------------------------------------------------------


def legacy_entry_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """Step 2's link, kept in ``audit_log`` until step 4: sha256 over "<prev>|<canonical JSON>"."""
    return hashlib.sha256(f"{prev_hash}|{canonical_body(row)}".encode()).hexdigest()


def _legacy_table() -> Any:
    # Only the columns step 2 knows (a later column must not break an old migration), typed as the
    # model types them, so that a timestamp reads back as a datetime on SQLite too.
    typed = AuditEntry.__table__.c  # type: ignore[attr-defined]
    names = ("id", "prev_hash", "entry_hash", *HASHED_FIELDS)
    return sa_table("audit_log", *(sa_column(c, typed[c].type if c in typed else None) for c in names))


def chain_existing_rows(conn: Any) -> int:
    """Step 2: link rows written before the chain existed, in id order (returns how many)."""
    table = _legacy_table()
    prev = GENESIS
    rows = [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.id))]
    for row in rows:
        h = legacy_entry_hash(prev, row)
        conn.execute(table.update().where(table.c.id == row["id"]).values(prev_hash=prev, entry_hash=h))
        prev = h
    return len(rows)


class BrokenAuditChain(RuntimeError):
    """The audit log's chain is broken: a migration that re-links it refuses to hide that."""


RELINK_BATCH = 5000  # rows read, hashed and written at a time by step 4's re-linking


def link_existing_rows(conn: Any) -> int:
    """Step 4: check step 2's chain (a break stops the migration), then give every row its
    ``row_hash`` and its link in ``audit_chain``, in id order, RELINK_BATCH rows at a time (a force's log
    holds millions of entries: one executemany of UPDATEs and one of INSERTs per batch; returns how many)."""
    table = _legacy_table()
    hashed = sa_table("audit_log", sa_column("id"), sa_column("row_hash"))
    set_hash = hashed.update().where(hashed.c.id == bindparam("b_id")).values(row_hash=bindparam("b_hash"))
    links = sa_table("audit_chain", *(sa_column(c) for c in ("seq", "entry_id", "prev_hash", "entry_hash")))
    old = new = GENESIS
    seq = last = 0
    while rows := [
        dict(r._mapping)
        for r in conn.execute(select(table).where(table.c.id > last).order_by(table.c.id).limit(RELINK_BATCH))
    ]:
        hashes, new_links = [], []
        for row in rows:
            if row["prev_hash"] != old or legacy_entry_hash(old, row) != row["entry_hash"]:
                raise BrokenAuditChain(f"audit_log's chain is broken at id {row['id']}: not re-linking it")
            old, own, seq = row["entry_hash"], row_hash(row), seq + 1
            hashes.append({"b_id": row["id"], "b_hash": own})
            link = link_hash(new, own)
            new_links.append({"seq": seq, "entry_id": row["id"], "prev_hash": new, "entry_hash": link})
            new = link
        conn.execute(set_hash, hashes)
        conn.execute(links.insert(), new_links)
        last = rows[-1]["id"]
    return seq
