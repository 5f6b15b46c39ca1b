"""Restriction and erasure marks as every consumer reads them: on the session's connection, marks set in
the same session and not yet flushed included; on PostgreSQL one statement text for any number of
references (prepared once), where an expanding IN rendered one per length."""

from __future__ import annotations

from typing import Any

from hhpu_shared.db import make_engine
from hhpu_shared.protection import MarkState, ProtectionMark, is_marked, marks, set_mark
from sqlalchemy import event
from sqlmodel import Session


def test_marks_see_this_sessions_marks_and_read_with_one_statement_text(db_url: str) -> None:
    engine = make_engine(db_url)
    ProtectionMark.__table__.create(engine)  # type: ignore[attr-defined]
    reads: list[str] = []

    def seen(_conn: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().startswith("SELECT protection_mark.person_key, protection_mark.state"):
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with Session(engine) as s:
            set_mark(s, ["p1"], MarkState.RESTRICTED, decided_by="dpo", reason_code="r", decision_id="d1")
            assert is_marked(s, "p1", MarkState.RESTRICTED)  # set here, not yet flushed: seen
            assert not is_marked(s, "p1", MarkState.ERASED)
            assert marks(s, ["p1", "p2", None]) == {"p1": "restricted"}
            assert marks(s, [f"x{i}" for i in range(30)] + ["p1"]) == {"p1": "restricted"}
            assert marks(s, [None, ""]) == {}  # no reference: no statement
            s.commit()
        with Session(engine) as s:
            assert marks(s, ["p1"]) == {"p1": "restricted"}
        assert len(reads) == 5
        if engine.dialect.name == "postgresql":
            assert len(set(reads)) == 1 and "ANY" in reads[0].upper()
    finally:
        engine.dispose()
