"""PostgreSQL computes a mark's one-way key as `person_key` does, so a query can tell its marked rows."""

from __future__ import annotations

from hhpu_shared.protection import (
    MarkState,
    ProtectionMark,
    marked_clause,
    person_key,
    person_key_sql,
    set_mark,
)
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, literal, select
from sqlmodel import Session

REFS = ["P-1", "referral:3f2a", "Zoë O'Brien-Łukasz", "", "x" * 128]


def test_the_database_computes_the_same_key(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        with engine.connect() as c:
            for ref in REFS:
                assert c.execute(select(person_key_sql(literal(ref, String)))).scalar_one() == person_key(ref)
    finally:
        engine.dispose()


def test_a_query_tells_which_rows_are_marked_under_any_reference(pg_url: str) -> None:
    engine = create_engine(pg_url)
    meta = MetaData()
    people = Table("people", meta, Column("ref", String, primary_key=True), Column("records_id", String))
    try:
        ProtectionMark.metadata.create_all(engine, tables=[ProtectionMark.__table__])  # type: ignore[attr-defined]
        meta.create_all(engine)
        with Session(engine) as s:
            rows = [("P-1", None), ("Zoë O'Brien-Łukasz", None), ("P-2", "REC-9"), ("P-3", "REC-1")]
            s.execute(insert(people), [{"ref": r, "records_id": o} for r, o in rows])
            set_mark(
                s,
                ["Zoë O'Brien-Łukasz", "REC-9"],
                MarkState.RESTRICTED,
                decided_by="dpo",
                reason_code="test",
                decision_id="d-1",
            )
            s.commit()
            found = s.execute(select(people.c.ref, marked_clause(people.c.ref, people.c.records_id))).all()
            # its own reference marked; its records id marked; neither; a NULL records id counts for nothing
            assert dict(found) == {"P-1": False, "Zoë O'Brien-Łukasz": True, "P-2": True, "P-3": False}
            only_own = s.execute(select(people.c.ref, marked_clause(people.c.ref))).all()
            assert {r for r, m in only_own if m} == {"Zoë O'Brien-Łukasz"}
    finally:
        engine.dispose()
