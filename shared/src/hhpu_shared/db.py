"""Database engine creation for SQLite (default) and PostgreSQL, and schema creation.

Each service owns its tables, which carry a service prefix; the plumbing tables (outbox,
inbox, audit trail) exist in every service's database.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, Table, event, text
from sqlmodel import Session, SQLModel, create_engine

PLUMBING_TABLES = ("outbox", "inbox", "audit_log")


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Take the write lock at BEGIN so concurrent writers queue instead of failing
            # with "database is locked" on lock upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        # Let SQLAlchemy emit our BEGIN instead of pysqlite's implicit one.
        @event.listens_for(engine, "connect", insert=True)
        def _no_implicit(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def service_tables(prefix: str) -> list[Table]:
    """The plumbing tables plus every table whose name starts with `prefix`."""
    # Importing registers the plumbing tables on SQLModel.metadata.
    from hhpu_shared import audit  # noqa: F401
    from hhpu_shared.messaging import inbox, outbox  # noqa: F401

    return [
        t for t in SQLModel.metadata.sorted_tables if t.name in PLUMBING_TABLES or t.name.startswith(prefix)
    ]


SCHEMA_LOCK_KEY = 7_201_161


def create_schema(engine: Engine, tables: Iterable[Table]) -> None:
    """Create the given tables if missing (idempotent).

    On PostgreSQL an advisory lock serialises this, because a service's API and consumer
    processes start together and concurrent CREATE TABLEs collide in the catalogue.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SCHEMA_LOCK_KEY})
            SQLModel.metadata.create_all(conn, tables=list(tables))
        return
    SQLModel.metadata.create_all(engine, tables=list(tables))


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def new_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
