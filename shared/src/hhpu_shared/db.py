"""Database engines for SQLite (default) and PostgreSQL.

Each service owns its database; its schema is made by its migrations (:mod:`hhpu_shared.migrations`).
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Connection,
    Engine,
    Select,
    String,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    cast,
    event,
    func,
    insert,
    select,
    text,
)
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
    connection idle for `ping_idle_s` or more is pinged before use (a dead one is replaced)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        pool: dict[str, Any] = {}
        if url.startswith("sqlite:///") and path not in ("", ":memory:") and "mode=memory" not in url:
            pool = {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": pool_timeout_s}
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
    engine = create_engine(url, pool_size=pool_size, max_overflow=20, pool_timeout=pool_timeout_s)
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


def _element_type(column: Any) -> Any:
    """The type an array parameter's elements are cast to: JSON as text; a string without its length,
    since an explicit cast to ``varchar(n)`` cuts a longer value short where the INSERT's own
    assignment refuses it (as a single row's VALUES does)."""
    if _json(column):
        return Text()
    impl = column.type.impl if isinstance(column.type, TypeDecorator) else column.type  # AutoString
    if isinstance(impl, String) and impl.length is not None:
        return String()
    return column.type


def unnest_rows(table: Table, columns: Sequence[str], prefix: str = "") -> Select[Any]:
    """PostgreSQL: the rows given as one array parameter per column (named `prefix` + column, typed as
    the column, see :func:`_element_type`), in array order. Its text does not depend on how many rows
    there are. A JSON column travels as an array of its documents' text (see :func:`array_params`),
    cast back per row: an array of JSON values would be read as a multi-dimensional array."""
    params = (bindparam(f"{prefix}{c}", type_=ARRAY(_element_type(table.c[c]))) for c in columns)
    rows = (
        func.unnest(*params).table_valued(*columns, with_ordinality="n").render_derived(name=f"{prefix}rows")
    )
    return select(
        *(cast(rows.c[c], table.c[c].type) if _json(table.c[c]) else rows.c[c] for c in columns)
    ).order_by(rows.c.n)


def array_params(table: Table, rows: Sequence[Mapping[str, Any]], prefix: str = "") -> dict[str, list[Any]]:
    """The parameters of :func:`unnest_rows` for `rows`: one list per column, JSON documents as text
    (``None`` is JSON null, as the column stores it, unless the column is ``none_as_null``)."""
    out: dict[str, list[Any]] = {}
    for c in rows[0]:
        values = [r[c] for r in rows]
        t = table.c[c].type
        if isinstance(t, JSON):
            values = [None if v is None and t.none_as_null else json.dumps(v) for v in values]
        out[prefix + c] = values
    return out


@functools.cache
def arrays_insert(table: Table, columns: tuple[str, ...]) -> PgInsert:
    """PostgreSQL: ``INSERT ... SELECT`` of :func:`unnest_rows` (serial keys follow the arrays' order),
    built once per table and columns; ON CONFLICT or RETURNING can be added to it."""
    return pg_insert(table).from_select(list(columns), unnest_rows(table, columns))


@functools.cache
def _plain_insert(table: Table) -> Insert:
    return insert(table)


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys), in the order given. On PostgreSQL one statement whose
    text does not depend on how many rows there are (one array parameter per column, unnested in
    order: serial keys follow the order given). An executemany, which is what a list of rows otherwise
    becomes, sends each row as a statement of its own with psycopg. SQLite: an executemany. One row
    is a plain ``INSERT ... VALUES`` on either (psycopg dumps an array parameter in Python, value by
    value: for one row that costs more than it saves)."""
    if not rows:
        return
    if len(rows) == 1 or conn.dialect.name != "postgresql":
        conn.execute(_plain_insert(table), rows[0] if len(rows) == 1 else list(rows))
        return
    conn.execute(arrays_insert(table, tuple(rows[0])), array_params(table, rows))
