"""`hhpu_shared.db.insert_rows`: many rows in one statement on PostgreSQL, in the order given.

psycopg sends an executemany as one statement per row; the outbox and the audit log are written with
`insert_rows`, whose text on PostgreSQL is the same however many rows (arrays, one per column)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hhpu_shared.db import insert_rows, make_engine
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.testing import steps
from hhpu_shared.testing.statements import Statements
from sqlalchemy import JSON, Column, Engine, Integer, MetaData, Table, text
from sqlalchemy.exc import DataError
from sqlmodel import Session, select

TABLE = OutboxRecord.__table__  # type: ignore[attr-defined]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    steps.create_tables(eng)
    yield eng
    eng.dispose()


def _rows(prefix: str, n: int) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    return [
        {
            "id": f"{prefix}-{i:04d}",
            "aggregatetype": "step",
            "aggregateid": f"agg-{n - i}",  # not in the order of the ids, so order is not by accident
            "type": "StepRecorded",
            "topic": "t",
            "payload": bytes([i % 256]) * 3,
            "created_at": now,
            "published_at": None,
            "attempts": 0,
            "last_error": None,
        }
        for i in range(n)
    ]


def test_rows_are_inserted_in_the_order_given_in_one_statement_text(engine: Engine) -> None:
    seen = Statements(engine)
    with engine.begin() as conn:
        insert_rows(conn, TABLE, _rows("a", 2))
        insert_rows(conn, TABLE, _rows("b", 300))
        insert_rows(conn, TABLE, [])
    inserts = [s for s in seen.statements if s.startswith("INSERT INTO outbox")]
    assert len(inserts) == 2  # one per call (an empty call sends nothing)
    if engine.dialect.name == "postgresql":
        assert inserts[0] == inserts[1] and len(inserts[0]) < 1000  # the same text for 2 and 300 rows
    with Session(engine) as s:
        got = s.exec(select(OutboxRecord).order_by(OutboxRecord.seq)).all()  # type: ignore[arg-type]
    assert [r.id for r in got] == [f"a-{i:04d}" for i in range(2)] + [f"b-{i:04d}" for i in range(300)]
    assert got[5].payload == bytes([3]) * 3 and got[5].aggregateid == "agg-297"


DOCS = Table(
    "json_docs",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("doc", JSON, nullable=True),
    Column("doc_or_null", JSON(none_as_null=True), nullable=True),
)


def test_json_columns_keep_their_documents_as_the_orm_would_store_them(engine: Engine) -> None:
    """JSON documents travel as text, one per row (an array of JSON values would be read as a
    multi-dimensional array); None is JSON null unless the column says none_as_null."""
    DOCS.create(engine)
    docs: list[object] = [["a", "b"], {"x": [1, 2]}, [], "text", None, [[1], [2, 3]]]
    with engine.begin() as conn:
        insert_rows(conn, DOCS, [{"id": i, "doc": d, "doc_or_null": d} for i, d in enumerate(docs)])
        got = conn.execute(select(DOCS.c.doc, DOCS.c.doc_or_null).order_by(DOCS.c.id)).all()
        nulls = conn.execute(text("SELECT id FROM json_docs WHERE doc IS NULL OR doc_or_null IS NULL")).all()
    assert [g.doc for g in got] == docs
    assert [g.doc_or_null for g in got] == docs
    assert [n.id for n in nulls] == [4]  # only none_as_null stores SQL NULL; the other keeps JSON null


def test_one_row_is_a_plain_values_insert(engine: Engine) -> None:
    """No array parameters for a single row (psycopg dumps arrays value by value in Python)."""
    seen = Statements(engine)
    with engine.begin() as conn:
        insert_rows(conn, TABLE, _rows("one", 1))
    [stmt] = [s for s in seen.statements if s.startswith("INSERT INTO outbox")]
    assert "VALUES" in stmt and "unnest" not in stmt
    with Session(engine) as s:
        assert [r.id for r in s.exec(select(OutboxRecord)).all()] == ["one-0000"]


def test_a_value_too_long_for_its_column_is_refused_not_cut_short(pg_url: str) -> None:
    """PostgreSQL: an explicit cast to varchar(n) cuts a value short: the arrays are cast without the
    length, so the INSERT refuses a value too long for its column, as a single row's VALUES does."""
    engine = make_engine(pg_url)
    try:
        steps.create_tables(engine)
        rows = _rows("long", 2)
        rows[1]["aggregateid"] = "x" * 200  # the column holds 128
        with pytest.raises(DataError, match="too long"), engine.begin() as conn:
            insert_rows(conn, TABLE, rows)
        with Session(engine) as s:
            assert s.exec(select(OutboxRecord)).all() == []
    finally:
        engine.dispose()
