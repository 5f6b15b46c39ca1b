"""`hhpu_shared.db.insert_rows`: many rows in one statement on PostgreSQL, in the order given.

psycopg sends an executemany as one statement per row; the outbox and the audit log are written with
`insert_rows`, whose text on PostgreSQL is the same however many rows (the rows as one JSON parameter,
read by `json_to_recordset` as the columns' own types)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hhpu_shared.db import insert_rows, make_engine
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.testing import steps
from hhpu_shared.testing.statements import Statements
from sqlalchemy import JSON, Column, Date, DateTime, Engine, Integer, MetaData, String, Table, text
from sqlalchemy.exc import DataError, StatementError
from sqlmodel import Session, select

TABLE = OutboxRecord.__table__  # type: ignore[attr-defined]


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
    """JSON documents travel as their text, cast back per row; None is JSON null unless the column
    says none_as_null."""
    DOCS.create(engine)
    docs: list[object] = [["a", "b"], {"x": [1, 2]}, [], "text", None, [[1], [2, 3]]]
    with engine.begin() as conn:
        insert_rows(conn, DOCS, [{"id": i, "doc": d, "doc_or_null": d} for i, d in enumerate(docs)])
        got = conn.execute(select(DOCS.c.doc, DOCS.c.doc_or_null).order_by(DOCS.c.id)).all()
        nulls = conn.execute(text("SELECT id FROM json_docs WHERE doc IS NULL OR doc_or_null IS NULL")).all()
    assert [g.doc for g in got] == docs
    assert [g.doc_or_null for g in got] == docs
    assert [n.id for n in nulls] == [4]  # only none_as_null stores SQL NULL; the other keeps JSON null


def test_one_row_and_many_share_one_statement_text_on_postgres(engine: Engine) -> None:
    """PostgreSQL: one row goes the same way as many (one JSON parameter; no array parameters, which
    psycopg dumps value by value in Python); SQLite: a plain VALUES."""
    seen = Statements(engine)
    with engine.begin() as conn:
        insert_rows(conn, TABLE, _rows("one", 1))
        insert_rows(conn, TABLE, _rows("two", 2))
    one, two = [s for s in seen.statements if s.startswith("INSERT INTO outbox")]
    if engine.dialect.name == "postgresql":
        assert one == two and "json_to_recordset" in one and "unnest" not in one
    else:
        assert "VALUES" in one
    with Session(engine) as s:
        ids = [r.id for r in s.exec(select(OutboxRecord).order_by(OutboxRecord.seq)).all()]  # type: ignore[arg-type]
    assert ids == ["one-0000", "two-0000", "two-0001"]


def test_each_value_goes_through_its_column_type_first(engine: Engine) -> None:
    """The column type's own bind processing still runs: a naive time is refused by UTCDateTime, as
    the ORM refuses it, and nothing is written."""
    rows = _rows("naive", 2)
    rows[1]["created_at"] = datetime(2026, 1, 1, 12, 0)  # no time zone
    with pytest.raises((StatementError, ValueError), match="timezone"), engine.begin() as conn:
        insert_rows(conn, TABLE, rows)
    with Session(engine) as s:
        assert s.exec(select(OutboxRecord)).all() == []


WORDS = Table(
    "sql_words",
    MetaData(),
    Column("n", Integer, primary_key=True),
    Column("rows", String(5)),
    Column("order", Date, nullable=True),
    Column("at", DateTime(timezone=True), nullable=True),
)


def test_columns_named_like_the_statement_s_own_words_are_kept_apart(engine: Engine) -> None:
    """Column names the statement itself uses (``rows``, ``n``) or SQL keywords (``order``) are
    quoted and kept apart from the row order; dates, times (in UTC or another offset) and text that
    is not ASCII keep their value."""
    WORDS.create(engine)
    at = datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=UTC)
    words = {3: "r3", 1: "Zoë", 2: "Łódź"}
    rows = [{"n": i, "rows": words[i], "order": date(2026, 1, i + 1), "at": at} for i in (3, 1, 2)]
    if engine.dialect.name == "postgresql":  # SQLite's DateTime keeps a wall time, no offset
        rows[2]["at"] = at.astimezone(timezone(timedelta(hours=5, minutes=30)))  # the same instant
    with engine.begin() as conn:
        insert_rows(conn, WORDS, rows)
        got = conn.execute(select(WORDS).order_by(WORDS.c.n)).all()
    assert [(g.n, g.rows, g.order) for g in got] == [
        (1, "Zoë", date(2026, 1, 2)),
        (2, "Łódź", date(2026, 1, 3)),
        (3, "r3", date(2026, 1, 4)),
    ]
    # SQLite keeps no time zone; PostgreSQL gives the same instant back
    assert all(g.at.replace(tzinfo=g.at.tzinfo or UTC) == at for g in got)


def test_a_value_too_long_for_its_column_is_refused_not_cut_short(pg_url: str) -> None:
    """PostgreSQL: an explicit cast to varchar(n) would cut a value short; the rows are read as the
    column's own type, so a value too long for its column is refused, as a single row's VALUES is."""
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
