"""The s.62 audit trail: one entry per person, one INSERT per page, a hash chain that shows tampering,
made at commit in commit order without a lock held across the writer's round trips."""

from __future__ import annotations

import pytest
from hhpu_shared.audit import AuditEntry, AuditLink, AuditOperation, verify_chain
from hhpu_shared.auth import Principal
from hhpu_shared.context import client_correlation_id_var
from hhpu_shared.db import make_engine
from hhpu_shared.testing import steps
from hhpu_shared.uow import unit_of_work
from sqlalchemy import event, text
from sqlmodel import Session, select

OFFICER = Principal(subject="officer-7", kind="staff", roles=frozenset({"offender_manager"}))


def _consult(engine, refs: list[str], why: str = "case review for the monthly meeting") -> None:  # type: ignore[no-untyped-def]
    with unit_of_work(engine, service="t", principal=OFFICER) as uow:
        uow.audit_people(
            AuditOperation.CONSULT,
            refs,
            subject_type="ranking_entries",
            subject_id="run-1",
            justification=why,
        )


def test_a_thousand_people_are_a_thousand_entries_in_one_statement(engine) -> None:  # type: ignore[no-untyped-def]
    inserts: list[str] = []

    def count(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
            inserts.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    token = client_correlation_id_var.set("client-abc")
    try:
        _consult(engine, [f"P{i}" for i in range(1000)])
    finally:
        client_correlation_id_var.reset(token)
        event.remove(engine, "before_cursor_execute", count)
    assert len(inserts) == 1
    with Session(engine) as s:
        rows = s.exec(select(AuditEntry).order_by(AuditEntry.id)).all()  # type: ignore[arg-type]
    assert len(rows) == 1000
    assert {r.person_ref for r in rows} == {f"P{i}" for i in range(1000)}
    first = rows[0]
    assert (first.actor, first.operation, first.justification) == (
        "officer-7",
        "consult",
        "case review for the monthly meeting",
    )
    assert first.client_correlation_id == "client-abc"
    assert first.correlation_id and first.correlation_id != "client-abc"
    with Session(engine) as s:
        report = verify_chain(s)
        links = s.exec(select(AuditLink).order_by(AuditLink.seq)).all()  # type: ignore[arg-type]
    assert report.ok and report.checked == 1000 and report.head == links[-1].entry_hash
    assert [link.entry_id for link in links] == [r.id for r in rows]


def test_an_altered_row_breaks_the_chain_at_that_row(engine) -> None:  # type: ignore[no-untyped-def]
    _consult(engine, ["A", "B", "C"])
    _consult(engine, ["D"])
    with Session(engine) as s:
        ids = [r.id for r in s.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]  # type: ignore[arg-type]
        assert verify_chain(s).ok
    with engine.begin() as conn:  # tampering outside the application (a DBA), by plain SQL
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        conn.execute(
            text("UPDATE audit_log SET justification = 'nothing to see' WHERE id = :i"), {"i": ids[1]}
        )
    with Session(engine) as s:
        report = verify_chain(s)
    assert not report.ok and report.first_bad_id == ids[1] and "altered" in (report.reason or "")


def _ids(engine) -> list[int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return [r.id for r in s.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]  # type: ignore[arg-type,misc]


def _tamper(engine, statement: str, **params: object) -> None:  # type: ignore[no-untyped-def]
    """Plain SQL outside the application, with the database's own guards switched off (a DBA)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            conn.execute(text("ALTER TABLE audit_chain DISABLE TRIGGER USER"))
        conn.execute(text(statement), params)


def test_a_deleted_row_breaks_the_chain_at_its_link(engine) -> None:  # type: ignore[no-untyped-def]
    _consult(engine, ["A", "B", "C"])
    ids = _ids(engine)
    _tamper(engine, "DELETE FROM audit_log WHERE id = :i", i=ids[1])
    with Session(engine) as s:
        report = verify_chain(s)
    assert not report.ok and report.first_bad_id == ids[1] and "removed" in (report.reason or "")


def test_a_removed_or_altered_link_breaks_the_chain(engine) -> None:  # type: ignore[no-untyped-def]
    _consult(engine, ["A", "B", "C"])
    ids = _ids(engine)
    _tamper(engine, "UPDATE audit_chain SET entry_hash = :h WHERE entry_id = :i", h="f" * 64, i=ids[0])
    with Session(engine) as s:
        report = verify_chain(s)
    assert not report.ok and report.first_bad_id == ids[0] and "altered" in (report.reason or "")
    _tamper(engine, "DELETE FROM audit_chain WHERE entry_id = :i", i=ids[0])
    with Session(engine) as s:
        report = verify_chain(s)
    assert not report.ok and report.first_bad_id == ids[1] and "missing" in (report.reason or "")


def test_an_entry_written_past_the_chain_is_reported(engine) -> None:  # type: ignore[no-untyped-def]
    """A row inserted by plain SQL with the chain's trigger off has no link: verify names it."""
    _consult(engine, ["A"])
    with Session(engine) as s:
        row = s.exec(select(AuditEntry)).one().model_dump(exclude={"id"})
    cols = ", ".join(row)
    _tamper(engine, f"INSERT INTO audit_log ({cols}) VALUES ({', '.join(':' + c for c in row)})", **row)
    with Session(engine) as s:
        report = verify_chain(s)
    assert not report.ok and report.checked == 1 and report.first_bad_id == _ids(engine)[1]
    assert "not in the chain" in (report.reason or "")


def test_the_application_cannot_update_or_delete_an_entry(engine) -> None:  # type: ignore[no-untyped-def]
    _consult(engine, ["A"])
    with Session(engine) as s:
        row = s.exec(select(AuditEntry)).one()
        row.justification = "rewritten"
        with pytest.raises(PermissionError):
            s.commit()
        s.rollback()
        s.delete(s.exec(select(AuditEntry)).one())
        with pytest.raises(PermissionError):
            s.commit()
    with Session(engine) as s:
        assert s.exec(select(AuditEntry)).one().justification == "case review for the monthly meeting"


def test_an_entry_needs_a_justification_and_a_rollback_writes_none(engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError), unit_of_work(engine, service="t", principal=OFFICER) as uow:
        uow.audit(AuditOperation.CONSULT, subject_type="person", subject_id="p", justification="  ")
    with pytest.raises(RuntimeError), unit_of_work(engine, service="t", principal=OFFICER) as uow:
        uow.audit(AuditOperation.CONSULT, subject_type="person", subject_id="p", justification="looked")
        raise RuntimeError("the request failed")
    with Session(engine) as s:
        assert s.exec(select(AuditEntry)).all() == []


def test_concurrent_writers_keep_one_chain_and_never_lock_it_themselves(engine) -> None:  # type: ignore[no-untyped-def]
    """Units of work committing at once on several threads: every entry is linked to the one committed
    before it. On PostgreSQL no statement of the application takes the chain's lock or reads its head
    (the deferred trigger does, inside the server, at commit)."""
    from concurrent.futures import ThreadPoolExecutor

    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, stmt, *_a: seen.append(stmt))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: _consult(engine, [f"P{i}", f"Q{i}"]), range(40)))
    written = list(seen)
    with Session(engine) as s:
        report = verify_chain(s)
    assert report.ok and report.checked == 80
    if engine.dialect.name == "postgresql":
        assert len([s for s in written if "INSERT INTO audit_log" in s]) == 40
        assert not [s for s in written if "pg_advisory" in s or "audit_chain" in s]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_the_chain_follows_commit_order_and_an_open_writer_blocks_no_one(engine) -> None:  # type: ignore[no-untyped-def]
    """A transaction that has written entries but not committed holds no lock on the chain: another
    writes and commits meanwhile (it used to wait for the first's commit). The chain is in commit
    order: the entry with the lower id, committed last, is linked last."""
    from hhpu_shared.audit import write_audit

    def write(session: Session, who: str) -> None:
        write_audit(
            session,
            service="t",
            operation=AuditOperation.CONSULT,
            principal=OFFICER,
            subject_type="person",
            subject_id=who,
            justification="a test of commit order",
        )

    slow = Session(engine)
    try:
        write(slow, "p-slow")  # inserted, not committed
        with engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '2s'"))  # waiting for the chain's lock would fail
            conn.commit()
            with Session(bind=conn) as fast:
                write(fast, "p-fast")
                fast.commit()
        slow.commit()
    finally:
        slow.close()
    with Session(engine) as s:
        entries = {e.subject_id: e.id for e in s.exec(select(AuditEntry)).all()}
        order = [link.entry_id for link in s.exec(select(AuditLink).order_by(AuditLink.seq)).all()]  # type: ignore[arg-type]
        assert entries["p-slow"] < entries["p-fast"]  # inserted first ...
        assert order == [entries["p-fast"], entries["p-slow"]]  # ... committed, so linked, last
        assert verify_chain(s).ok


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_processes_creating_the_tables_at_once_install_the_chain_trigger_once(db_url: str) -> None:
    """Test processes create the same tables at once (`create_all`): each used to replace the chain's
    functions at the same moment ("tuple concurrently updated"); the first now installs them under
    the migrations' lock and the others find them."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from hhpu_shared.audit_schema import remove_chain_trigger

    engines = [make_engine(db_url) for _ in range(4)]
    steps.create_tables(engines[0])  # the tables exist (create_all skips them), the trigger not:
    with engines[0].begin() as conn:
        remove_chain_trigger(conn)
    start = Barrier(len(engines))

    def create(eng) -> None:  # type: ignore[no-untyped-def]
        start.wait()
        steps.create_tables(eng)

    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            list(pool.map(create, engines))
        _consult(engines[0], ["A", "B"])
        with Session(engines[0]) as s:
            assert verify_chain(s).ok and verify_chain(s).checked == 2
    finally:
        for eng in engines:
            eng.dispose()


def test_each_unit_of_work_s_entries_are_flushed_by_the_one_listener_of_every_session(engine) -> None:  # type: ignore[no-untyped-def]
    """No listener is added per session (that cost an intake request about 2% of its CPU); the one
    registered for every session flushes each transaction's entries at its commit, and a session
    that audited nothing writes nothing."""
    with unit_of_work(engine, service="t", principal=OFFICER) as uow:
        uow.audit_people(AuditOperation.CONSULT, ["A"], subject_type="x", subject_id="1", justification="j")
        assert not list(uow.session.dispatch.before_commit.listeners)
        uow.session.commit()  # a commit inside the unit of work flushes what came before it
        uow.audit_people(AuditOperation.CONSULT, ["B"], subject_type="x", subject_id="2", justification="j")
    with unit_of_work(engine, service="t", principal=OFFICER):
        pass
    with Session(engine) as s:
        refs = [r.person_ref for r in s.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]  # type: ignore[arg-type]
        assert refs == ["A", "B"] and verify_chain(s).ok
