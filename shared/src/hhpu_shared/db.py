"""Database engines for SQLite (default) and PostgreSQL.

Each service owns its database; its schema is made by its migrations (:mod:`hhpu_shared.migrations`).
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from datetime import time as time_of_day
from decimal import Decimal
from typing import Any
from uuid import UUID

import pydantic_core
from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    Connection,
    Dialect,
    Engine,
    LargeBinary,
    Select,
    Table,
    all_,
    any_,
    bindparam,
    cast,
    event,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.sql.dml import Insert, ReturningInsert
from sqlmodel import create_engine

# A connection with this execution option starts a deferred transaction on SQLite (readers: no write lock).
READ_ONLY = {"hhpu_read_only": True}
# The database cannot serve now (down, restarting, unreachable, or SQLite's write lock held past the
# busy timeout): callers wait and retry, or answer 503; nothing is half-done.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
_CHECKED_IN = "hhpu_checked_in"  # the pool record's info key: when the connection came back


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    pool_timeout_s: float = 10.0,
    busy_timeout_s: float = 10.0,
    ping_idle_s: float = 1.0,
) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys.

    Waits are bounded: a pooled connection within `pool_timeout_s` (else ``sqlalchemy.exc.TimeoutError``)
    and, on SQLite, the write lock within `busy_timeout_s` (else ``OperationalError``); the services
    answer both with 503 and Retry-After (:mod:`hhpu_shared.overload`). On PostgreSQL a pooled
    connection idle for `ping_idle_s` or more is pinged before use (a dead one is replaced).

    The pool hands out the connection returned last: work stays on a few hot connections, where a
    repeated statement is prepared (psycopg: after five runs on a connection) and keeps its plan,
    and seldom waits for a ping. Handing out the one idle longest spread a thread's statements over
    every pooled connection (the relay's were planned on every batch)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        pool: dict[str, Any] = {}
        if url.startswith("sqlite:///") and path not in ("", ":memory:") and "mode=memory" not in url:
            pool = {
                "pool_size": pool_size,
                "max_overflow": pool_size,
                "pool_timeout": pool_timeout_s,
                "pool_use_lifo": True,
            }
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout_s}, **pool
        )
        busy_ms = int(busy_timeout_s * 1000)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Take the write lock at BEGIN so concurrent writers queue instead of failing
            # with "database is locked" on lock upgrade. Readers that never write (probes,
            # key checks) begin deferred and never wait for the lock (WAL: readers don't block).
            if conn.get_execution_options().get("hhpu_read_only"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        # Let SQLAlchemy emit our BEGIN instead of pysqlite's implicit one.
        @event.listens_for(engine, "connect", insert=True)
        def _no_implicit(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    engine = create_engine(
        url, pool_size=pool_size, max_overflow=20, pool_timeout=pool_timeout_s, pool_use_lifo=True
    )
    _ping_when_idle(engine, ping_idle_s)
    return engine


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Pessimistic disconnect handling as ``pool_pre_ping``, but only for a connection that sat in the
    pool at least `idle_s`: one back within that time was working a moment ago, and the ping was a
    round trip per unit of work. A dead one is replaced before use (the pool retries the checkout);
    one that dies in the interval fails its statement, is invalidated, and the service answers 503."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since < idle_s:
            return  # new, or back from work just now
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError("the pooled connection did not answer a ping") from exc


def ping(engine: Engine) -> bool:
    """Can the database answer now? (Never waits for SQLite's write lock.)"""
    try:
        with engine.connect().execution_options(**READ_ONLY) as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def in_list(column: Any, name: str, item_type: Any, dialect: str, *, negate: bool = False) -> Any:
    """``column IN (:name)`` (``NOT IN`` with `negate`), the list given when the statement runs: on
    PostgreSQL ``= ANY(array)`` (``<> ALL``), one statement text whatever the list's length, so it is
    parsed once and prepared (the planner treats both alike); elsewhere an expanding IN."""
    if dialect == "postgresql":
        param = bindparam(name, type_=ARRAY(item_type))
        return column != all_(param) if negate else column == any_(param)
    param = bindparam(name, expanding=True)
    return column.not_in(param) if negate else column.in_(param)


@functools.cache
def insert_if_absent(table: Table, conflict: tuple[str, ...], dialect: str) -> ReturningInsert[Any]:
    """``INSERT ... ON CONFLICT (conflict) DO NOTHING RETURNING <primary key>`` for `dialect`
    ("postgresql" or "sqlite"), its values given when it runs: no row back means a row with the same
    `conflict` columns exists (on PostgreSQL a concurrent insert of the same values waits for the other
    transaction first). No savepoint needed. Built once per table and conflict: its compiled form is
    cached too."""
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    return ins(table).on_conflict_do_nothing(index_elements=list(conflict)).returning(*table.primary_key)


def _json(column: Any) -> bool:
    return isinstance(column.type, JSON)


_PG: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
ROW_ORDER = "hhpu_row_order"  # the ordinality column of :func:`rows_select` (no table has one)


def _declared(column: Any) -> str:
    """The type a column's values are read as from the rows' JSON: the column's own, so a string too
    long for a ``varchar(n)`` is refused as an INSERT's VALUES refuses it (an explicit cast would cut
    it short); a JSON document as its text, cast back (JSON null stays JSON null, not SQL NULL)."""
    if _json(column):
        return "text"
    return str(column.type.compile(dialect=_PG))


def rows_select(table: Table, columns: Sequence[str], prefix: str = "") -> Select[Any]:
    """PostgreSQL: the rows given as one JSON text parameter (named `prefix` + ``rows``, made by
    :func:`rows_param`), read by ``json_to_recordset`` as the columns' own types, in the order given.
    Its text does not depend on how many rows there are."""
    name = f"{prefix}rows"
    quote = _PG.identifier_preparer.quote
    defs = ", ".join(f"{quote(c)} {_declared(table.c[c])}" for c in columns)
    names = ", ".join(quote(c) for c in columns)
    source = text(
        f"ROWS FROM (json_to_recordset(CAST(:{name} AS json)) AS ({defs})) WITH ORDINALITY"
        f" AS {name}({names}, {ROW_ORDER})"
    )
    cols: list[ColumnElement[Any]] = []
    for c in columns:
        col: ColumnElement[Any] = literal_column(f"{name}.{quote(c)}")
        cols.append(cast(col, table.c[c].type) if _json(table.c[c]) else col)
    return select(*cols).select_from(source).order_by(literal_column(f"{name}.{ROW_ORDER}"))


def _plain(value: Any) -> Any:
    """A value JSON does not know, as PostgreSQL reads it in its text form."""
    if isinstance(value, datetime | date | time_of_day):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    raise TypeError(f"no JSON form for {type(value).__name__}")


@functools.cache
def _converters(table: Table, columns: tuple[str, ...], dialect: Dialect) -> list[Any]:
    """Per column, what turns a row's value into its JSON form (None: the value as it is)."""
    out: list[Any] = []
    for c in columns:
        t = table.c[c].type
        if isinstance(t, JSON):
            none_as_null = t.none_as_null
            out.append(lambda v, n=none_as_null: None if v is None and n else json.dumps(v))
        elif isinstance(t, LargeBinary):
            out.append(lambda v: None if v is None else "\\x" + v.hex())
        else:
            out.append(t._cached_bind_processor(dialect))  # e.g. UTCDateTime's check that it is aware
    return out


def rows_param(
    table: Table, rows: Sequence[Mapping[str, Any]], dialect: Dialect, prefix: str = ""
) -> dict[str, str]:
    """The parameter of :func:`rows_select` for `rows` (dicts with the same keys): one JSON text.

    psycopg dumps an array parameter in Python, value by value (a sixth of a busy consumer's CPU went
    there); pydantic-core encodes in Rust (dates and UUIDs too: 4.7x ``json.dumps`` with a Python
    ``default`` on three history rows) and PostgreSQL parses JSON in C. Each value goes through its
    column type's bind processing first; JSON documents travel as their text (``None`` is JSON null
    unless the column is ``none_as_null``), binary as PostgreSQL's hex form."""
    if not rows:
        return {f"{prefix}rows": "[]"}
    columns = tuple(rows[0])
    convert = _converters(table, columns, dialect)
    if any(convert):
        pairs = list(zip(columns, convert, strict=True))
        rows = [{c: (f(r[c]) if f is not None else r[c]) for c, f in pairs} for r in rows]
    return {f"{prefix}rows": pydantic_core.to_json(rows, fallback=_plain).decode()}


@functools.cache
def _plain_insert(table: Table) -> Insert:
    return insert(table)


@functools.cache
def rows_insert(table: Table, columns: tuple[str, ...]) -> PgInsert:
    """PostgreSQL: ``INSERT ... SELECT`` of :func:`rows_select` (serial keys follow the rows' order),
    built once per table and columns; ON CONFLICT or RETURNING can be added to it."""
    return pg_insert(table).from_select(list(columns), rows_select(table, columns))


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys), in the order given. On PostgreSQL one statement whose
    text does not depend on how many rows there are (the rows as one JSON parameter, read in order:
    serial keys follow the order given); an executemany, which is what a list of rows otherwise
    becomes, sends each row as a statement of its own with psycopg. SQLite: an executemany, or a
    plain VALUES for one row."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(rows_insert(table, tuple(rows[0])), rows_param(table, rows, conn.dialect))
        return
    conn.execute(_plain_insert(table), rows[0] if len(rows) == 1 else list(rows))
