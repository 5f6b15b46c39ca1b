"""Rows deferred to the commit (hhpu_shared.deferred): one INSERT per table at commit, never missing
from a statement of the transaction that names the table, dropped with an undone savepoint or a
rolled-back transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.deferred import defer_rows
from hhpu_shared.testing.statements import Statements
from sqlalchemy import Column, Engine, ForeignKey, Integer, MetaData, String, Table, func, select, text
from sqlmodel import Session

NOTES = Table("dnotes", MetaData(), Column("id", Integer, primary_key=True), Column("body", String(20)))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    NOTES.create(eng)
    yield eng
    eng.dispose()


def _rows(*ids: int) -> list[dict[str, object]]:
    return [{"id": i, "body": f"n{i}"} for i in ids]


def _ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(NOTES.c.id).order_by(NOTES.c.id)).scalars())


def test_rows_are_written_at_commit_in_one_statement(engine: Engine) -> None:
    seen = Statements(engine)
    with Session(engine) as s:
        for i in range(1, 6):
            defer_rows(s, NOTES, _rows(i))
            s.execute(text("SELECT 1"))  # other statements do not write them
        assert seen.count("INSERT INTO dnotes") == 0
        s.commit()
    assert seen.count("INSERT INTO dnotes") == 1
    assert _ids(engine) == [1, 2, 3, 4, 5]


def test_a_statement_naming_the_table_sees_the_rows(engine: Engine) -> None:
    with Session(engine) as s:
        defer_rows(s, NOTES, _rows(1, 2))
        assert s.execute(select(func.count()).select_from(NOTES)).scalar() == 2  # Core select
        defer_rows(s, NOTES, _rows(3))
        assert s.execute(text("SELECT count(*) FROM dnotes")).scalar() == 3  # SQL text
        defer_rows(s, NOTES, _rows(4))
        sub = select(NOTES.c.id).where(NOTES.c.id > 3).scalar_subquery()
        assert s.execute(select(sub)).scalar() == 4  # named in a subquery only
        defer_rows(s, NOTES, _rows(5))
        s.execute(NOTES.update().where(NOTES.c.id == 5).values(body="changed"))  # an update
        s.commit()
    assert _ids(engine) == [1, 2, 3, 4, 5]


def test_a_rolled_back_transaction_writes_nothing_then_or_later(engine: Engine) -> None:
    with Session(engine) as s:
        defer_rows(s, NOTES, _rows(1))
        s.rollback()
        s.execute(text("SELECT 1"))
        s.commit()
    with Session(engine) as s:  # the pooled connection again: nothing left on it
        defer_rows(s, NOTES, _rows(2))
        s.commit()
    with Session(engine) as s:
        defer_rows(s, NOTES, _rows(3))  # closed without a commit
    with Session(engine) as s:
        s.execute(text("SELECT count(*) FROM dnotes"))
        s.commit()
    assert _ids(engine) == [2]


def test_an_undone_savepoint_drops_its_rows_and_a_released_one_keeps_them(engine: Engine) -> None:
    with Session(engine) as s:
        defer_rows(s, NOTES, _rows(1))
        with pytest.raises(RuntimeError), s.begin_nested():
            defer_rows(s, NOTES, _rows(2))
            raise RuntimeError("undone")
        with s.begin_nested():
            defer_rows(s, NOTES, _rows(3))
        defer_rows(s, NOTES, _rows(4))
        s.commit()
    assert _ids(engine) == [1, 3, 4]


def test_rows_first_queued_inside_a_savepoint_go_with_it(engine: Engine) -> None:
    with Session(engine) as s:
        with pytest.raises(RuntimeError), s.begin_nested():
            defer_rows(s, NOTES, _rows(1))  # the session's first deferred rows, in a savepoint
            raise RuntimeError("undone")
        defer_rows(s, NOTES, _rows(2))
        s.commit()
    assert _ids(engine) == [2]


def test_a_consumer_batch_writes_its_rows_once_and_a_failing_row_is_its_events_alone(
    db_url: str,
) -> None:
    """A poll batch's deferred rows are one INSERT; a row that cannot be written fails its own event
    (dead-lettered, nothing of it kept) and the others of the batch are applied, not the batch stuck."""
    from hhpu_shared.events.registry import dlt_topic
    from hhpu_shared.messaging.inprocess import InProcessBus
    from hhpu_shared.messaging.relay import OutboxRelay
    from hhpu_shared.testing import steps

    engine = make_engine(db_url)
    try:
        steps.create_tables(engine)
        NOTES.create(engine)
        bus = InProcessBus()
        reg = steps.registry()
        reg.handlers.clear()

        @reg.handles(steps.StepRecorded)
        def _apply_and_note(uow, data, env) -> None:  # type: ignore[no-untyped-def]
            steps.apply_step(uow, data, env)
            body = "x" * 30 if data.aggregate == "bad" else data.aggregate  # too long: refused (PostgreSQL)
            defer_rows(uow.session, NOTES, [{"id": data.seq * 10 + len(data.aggregate), "body": body}])

        steps.write_steps(engine, ["a", "bad", "bb"], 2)
        OutboxRelay(engine, bus.publisher(), service="t").drain()
        runner = steps.test_runner(engine, bus, "g", reg)
        seen = Statements(engine)
        assert runner.run_once(0) == 6
        with engine.connect() as conn:
            bodies = sorted(conn.execute(select(NOTES.c.body)).scalars())
        dead = bus.messages(dlt_topic("hhpu.fdtest.events"))
        if engine.dialect.name == "postgresql":
            assert bodies == ["a", "a", "bb", "bb"]
            assert len(dead) == 2 and all(b"bad" in m.value for m in dead)
            assert steps.applied_by_aggregate(engine) == {"a": [1, 2], "bb": [1, 2]}
        else:  # SQLite does not enforce the length: the batch goes in whole, one INSERT of six rows
            assert len(bodies) == 6 and not dead
            assert seen.count("INSERT INTO dnotes") == 1
    finally:
        engine.dispose()


def test_rows_queued_before_a_savepoint_survive_it_being_undone(engine: Engine) -> None:
    """A statement inside the savepoint names the table: the rows queued before the savepoint must
    not be written inside it (they would go with it)."""
    with Session(engine) as s:
        defer_rows(s, NOTES, _rows(1))
        with pytest.raises(RuntimeError), s.begin_nested():
            defer_rows(s, NOTES, _rows(2))
            assert s.execute(select(func.count()).select_from(NOTES)).scalar() == 2
            raise RuntimeError("undone")
        assert s.execute(select(func.count()).select_from(NOTES)).scalar() == 1
        s.commit()
    assert _ids(engine) == [1]


def test_nested_savepoints_keep_exactly_the_work_that_stands(engine: Engine) -> None:
    with Session(engine) as s:
        defer_rows(s, NOTES, _rows(1))
        with s.begin_nested():
            defer_rows(s, NOTES, _rows(2))
            with pytest.raises(RuntimeError), s.begin_nested():
                defer_rows(s, NOTES, _rows(3))
                raise RuntimeError("inner undone")
        with pytest.raises(RuntimeError), s.begin_nested():
            defer_rows(s, NOTES, _rows(4))
            with s.begin_nested():
                defer_rows(s, NOTES, _rows(5))
            raise RuntimeError("outer undone, with its released inner")
        s.commit()
    assert _ids(engine) == [1, 2]


def test_a_session_dropped_without_a_close_leaves_nothing_for_the_next_user(engine: Engine) -> None:
    s = Session(engine)
    defer_rows(s, NOTES, _rows(1))
    del s  # no commit, no close
    gc.collect()
    with Session(engine) as s2:
        s2.execute(text("SELECT count(*) FROM dnotes"))  # the hook finds nothing queued
        s2.commit()
    assert _ids(engine) == []


PARENTS = Table("dparents", NOTES.metadata, Column("id", Integer, primary_key=True))
CHILDREN = Table(
    "dchildren",
    NOTES.metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_id", Integer, ForeignKey("dparents.id"), nullable=False),
)


def test_a_child_table_s_rows_are_written_after_the_rows_they_name(engine: Engine) -> None:
    """A child row waits for its parent: a statement naming only the child table writes the queued
    parents first, and the commit writes parents before children whatever the order queued (with
    the foreign key enforced, on both databases)."""
    PARENTS.create(engine)
    CHILDREN.create(engine)
    seen = Statements(engine)
    with Session(engine) as s:
        defer_rows(s, PARENTS, [{"id": 1}])
        defer_rows(s, CHILDREN, [{"id": 10, "parent_id": 1}])
        assert s.execute(select(func.count()).select_from(CHILDREN)).scalar() == 1
        assert seen.count("INSERT INTO dparents") == 1  # written first, for the child's sake
        defer_rows(s, CHILDREN, [{"id": 20, "parent_id": 2}])  # its parent queued after it
        defer_rows(s, PARENTS, [{"id": 2}])
        s.commit()
    with engine.connect() as conn:
        got = conn.execute(select(CHILDREN.c.id, CHILDREN.c.parent_id).order_by(CHILDREN.c.id)).all()
    assert [tuple(g) for g in got] == [(10, 1), (20, 2)]
    inserts = [t.split(" ")[2] for t in seen.statements if t.startswith("INSERT INTO")]
    assert inserts == ["dparents", "dchildren", "dparents", "dchildren"]


def test_a_session_keeps_no_listener_of_its_own_and_its_later_transactions_defer_too(
    engine: Engine,
) -> None:
    """The session events are listened to once for every session (a listener added per session cost
    an intake request about 2% of its CPU): a session that queued rows holds none of its own, and
    its later transactions queue, drop and write as its first did."""
    seen = Statements(engine)
    with Session(engine) as s:
        defer_rows(s, NOTES, _rows(1))
        s.commit()
        defer_rows(s, NOTES, _rows(2))
        s.rollback()
        defer_rows(s, NOTES, _rows(3))
        savepoint = s.begin_nested()
        defer_rows(s, NOTES, _rows(4))
        savepoint.rollback()
        s.commit()
        for name in ("before_commit", "after_transaction_create", "after_transaction_end"):
            assert not list(getattr(s.dispatch, name).listeners), name
    assert _ids(engine) == [1, 3]
    assert seen.count("INSERT INTO dnotes") == 2
