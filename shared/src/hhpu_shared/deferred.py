"""Rows a transaction appends and does not read back (outbox events, history), written at its commit.

A consumer handles a poll batch of tens of events in one transaction. Each event's outbox row and
history row were INSERTs of their own, a round trip each while the consumer waited on the database
(at 100 referrals/s the case-service's consumer spent two thirds of its time waiting on PostgreSQL).
Deferred, they go in as one INSERT per table for the whole batch (:func:`hhpu_shared.db.insert_rows`)
just before the transaction commits, in the order they were queued.

No statement of the transaction can miss a deferred row: before any statement that names a table
with rows queued (a read, an update, a delete, SQL text that mentions it) those rows are written.
What is queued when a savepoint begins is written first (outside it); a savepoint released writes
what was queued inside it; one undone drops that. A transaction rolled back drops everything.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Pool, Table, event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlalchemy.sql import ClauseElement, TextClause
from sqlalchemy.sql.expression import SavepointClause
from sqlalchemy.sql.util import find_tables
from sqlmodel import Session

from hhpu_shared.db import insert_rows

_SESSION_KEY = "hhpu_deferred_rows"
_CONNECTION_KEY = "hhpu_deferred_rows"  # on the transaction's connection, for the statement hook


class DeferredRows:
    """The rows a session's transaction has queued, by table, in order."""

    def __init__(self) -> None:
        self.rows: dict[Table, list[Mapping[str, Any]]] = {}
        self.marks: dict[int, dict[Table, int]] = {}  # open savepoints: what was queued before each
        # The info of the transaction's connection, which names this buffer to the statement hook.
        self.conn_info: dict[Any, Any] | None = None

    def add(self, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.rows.setdefault(table, []).extend(rows)

    def pending(self) -> bool:
        return any(self.rows.values())

    def write(self, conn: Connection, tables: Sequence[Table] | None = None) -> None:
        """Insert the queued rows (of `tables` and of the queued tables they refer to by foreign key,
        or all), parents before children, one statement per table and set of columns."""
        for table in _parents_first(list(self.rows) if tables is None else tables, self.rows):
            rows = self.rows.pop(table, [])  # popped first: the inserts below pass the statement hook
            for mark in self.marks.values():  # nothing of this table is queued before a savepoint now
                mark[table] = 0
            start = 0
            for i in range(1, len(rows) + 1):
                if i == len(rows) or rows[i].keys() != rows[start].keys():
                    insert_rows(conn, table, rows[start:i])
                    start = i

    def end(self) -> None:
        """The transaction is over: nothing queued is kept, the connection forgets the buffer."""
        self.rows.clear()
        self.marks.clear()
        if self.conn_info is not None:
            self.conn_info.pop(_CONNECTION_KEY, None)
            self.conn_info = None


def _parents_first(tables: Sequence[Table], queued: Mapping[Table, Any]) -> list[Table]:
    """`tables` in the order given, each after the queued tables it refers to by foreign key, however
    far up (those added when not among `tables`: a child row is written only once the rows it names
    are, though a statement names only the child table); a cycle of foreign keys is cut where it
    closes."""
    done: list[Table] = []
    seen: set[Table] = set()

    def visit(table: Table) -> None:
        if table in seen:
            return
        seen.add(table)
        for fk in table.foreign_keys:
            parent = fk.column.table
            if isinstance(parent, Table) and parent is not table and parent in queued:
                visit(parent)
        done.append(table)

    for table in tables:
        visit(table)
    return done


def defer_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Queue `rows` of `table` to be inserted just before the session's transaction commits (or
    before any statement of the transaction that names `table`)."""
    if rows:
        buffer = _of(session)
        session.connection()  # a savepoint begun lazily is begun now: what it queues comes after it
        buffer.add(table, rows)


def write_pending(session: Session) -> None:
    """Write what the session's transaction has queued now: before it commits or releases a
    savepoint, and where a consumer's batch calls it before its commit (a failing row is then the
    batch's failure, handled again event by event)."""
    buffer = session.info.get(_SESSION_KEY)
    if isinstance(buffer, DeferredRows) and buffer.pending():
        buffer.write(session.connection())


def _of(session: Session) -> DeferredRows:
    buffer = session.info.get(_SESSION_KEY)
    if buffer is None:
        buffer = session.info[_SESSION_KEY] = DeferredRows()  # the listeners below see it now
    assert isinstance(buffer, DeferredRows)
    if buffer.conn_info is None:  # the first rows of this transaction
        buffer.conn_info = session.connection().info
        buffer.conn_info[_CONNECTION_KEY] = buffer
        tx = session.get_nested_transaction()
        while tx is not None and tx.nested:  # savepoints open already: nothing of theirs queued yet
            buffer.marks[id(tx)] = {}
            tx = tx.parent
    return buffer


# Every session's events, registered once (per session, SQLAlchemy's event registry cost more than the
# rows' writing); a session that never queued rows has no buffer and pays a dictionary lookup.
event.listen(OrmSession, "before_commit", write_pending)  # also fired for a savepoint's release


@event.listens_for(OrmSession, "after_transaction_create")
def _savepoint_started(session: OrmSession, transaction: SessionTransaction) -> None:
    buffer = session.info.get(_SESSION_KEY)
    if transaction.nested and buffer is not None and buffer.conn_info is not None:
        buffer.marks[id(transaction)] = {t: len(r) for t, r in buffer.rows.items()}


@event.listens_for(OrmSession, "after_transaction_end")
def _transaction_ended(session: OrmSession, transaction: SessionTransaction) -> None:
    buffer = session.info.get(_SESSION_KEY)
    if buffer is None:
        return
    if transaction.nested:
        mark = buffer.marks.pop(id(transaction), None)
        if mark is not None:  # released: written already; undone: drop what it queued
            for table, rows in buffer.rows.items():
                del rows[mark.get(table, 0) :]
    elif transaction.parent is None:  # the transaction itself: committed (written) or rolled back
        buffer.end()


# The tables each statement names, kept while the statement lives: statements built once (most of
# the consumers') are looked at once; finding them in a join of subqueries takes tens of µs.
_NAMED: weakref.WeakKeyDictionary[ClauseElement, frozenset[Any]] = weakref.WeakKeyDictionary()


def _tables_named(statement: Any, tables: list[Table]) -> list[Table]:
    if isinstance(statement, SavepointClause):
        # Everything queued so far is written before a savepoint begins: a row written inside it
        # (a statement there named its table) would otherwise go if the savepoint were undone.
        return tables
    if isinstance(statement, TextClause):
        return [t for t in tables if t.name in statement.text]
    if isinstance(statement, ClauseElement):
        named = _NAMED.get(statement)
        if named is None:
            found = find_tables(statement, include_aliases=True, include_joins=True, include_crud=True)
            named = _NAMED[statement] = frozenset(found)
        return [t for t in tables if t in named]
    return tables  # something else (a DDL element, a function): write everything first


@event.listens_for(Engine, "before_execute")
def _write_first(conn: Connection, statement: Any, *_args: Any) -> None:
    """Before a statement names a table with rows queued in this transaction, write those rows."""
    buffer = conn.info.get(_CONNECTION_KEY)
    if buffer is None or not buffer.pending():
        return
    waiting = [t for t, rows in buffer.rows.items() if rows]
    named = _tables_named(statement, waiting)
    if named:
        buffer.write(conn, named)


@event.listens_for(Pool, "checkin")
def _forget(_dbapi_connection: Any, record: Any) -> None:
    """A connection back in the pool carries no queued rows to its next user, however its last
    session ended (one dropped without a close ends no transaction event)."""
    buffer = record.info.pop(_CONNECTION_KEY, None) if record is not None else None
    if isinstance(buffer, DeferredRows):
        buffer.rows.clear()
        buffer.conn_info = None
