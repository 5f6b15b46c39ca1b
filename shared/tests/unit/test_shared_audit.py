"""The s.62 audit trail: one entry per person, one INSERT per page, a hash chain that shows tampering."""

from __future__ import annotations

import pytest
from hhpu_shared.audit import AuditEntry, AuditOperation, verify_chain
from hhpu_shared.auth import Principal
from hhpu_shared.context import client_correlation_id_var
from hhpu_shared.db import make_engine
from hhpu_shared.testing import steps
from hhpu_shared.uow import unit_of_work
from sqlalchemy import event, text
from sqlmodel import Session, select

OFFICER = Principal(subject="officer-7", kind="staff", roles=frozenset({"offender_manager"}))


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    eng = make_engine(db_url)
    steps.create_tables(eng)
    yield eng
    eng.dispose()


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
    assert report.ok and report.checked == 1000 and report.head == rows[-1].entry_hash


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


def test_a_deleted_row_breaks_the_chain_after_it(engine) -> None:  # type: ignore[no-untyped-def]
    _consult(engine, ["A", "B", "C"])
    with Session(engine) as s:
        ids = [r.id for r in s.exec(select(AuditEntry).order_by(AuditEntry.id)).all()]  # type: ignore[arg-type]
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": ids[1]})
    with Session(engine) as s:
        report = verify_chain(s)
    assert not report.ok and report.first_bad_id == ids[2]


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


def test_concurrent_writers_keep_one_chain_with_one_round_trip_for_lock_and_head(engine) -> None:  # type: ignore[no-untyped-def]
    """Units of work committing at once on several threads: every entry is linked to the one committed
    before it. On PostgreSQL the chain's lock and head read go to the server together (one statement
    text of two statements: the head is read after the lock is held)."""
    from concurrent.futures import ThreadPoolExecutor

    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _cur, stmt, *_a: seen.append(stmt))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: _consult(engine, [f"P{i}", f"Q{i}"]), range(40)))
    with Session(engine) as s:
        report = verify_chain(s)
    assert report.ok and report.checked == 80
    if engine.dialect.name == "postgresql":
        locks = [s for s in seen if "pg_advisory_xact_lock" in s]
        assert len(locks) == 40 and all("ORDER BY id DESC LIMIT 1" in s for s in locks)
