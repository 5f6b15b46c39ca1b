"""A referral about a person new to the unit takes the plain-statement path (`service.newcomers`):
it must write exactly what the general path (people.create, assessments.add_trigger,
cases.ensure_candidate, retention.refresh) writes for the same referral, row for row, audit entries
and event included; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from case_service import handlers
from case_service.migrations import MIGRATIONS
from case_service.service import newcomers
from case_testing import envelope, screened
from hhpu_shared.auth import system_principal
from hhpu_shared.db import make_engine
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.referral import ReferralScreened
from hhpu_shared.testing.databases import migrated
from hhpu_shared.uow import unit_of_work
from sqlalchemy import Connection, Engine, event, inspect, text

ID = re.compile(r"\b[0-9a-f]{32}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?")
UNCOMPARED = {"id", "seq", "prev_hash", "entry_hash"}  # own keys and chain links: new each run

FULL = PersonDetails(
    given_name="Bea",
    middle_names="Ann",
    family_name="Ng",
    aliases=("Bee Ng",),
    date_of_birth=date(1984, 2, 29),
    records_id="R-9",
    pnc_number="2001/0012345A",
    area="north",
)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(migrated(MIGRATIONS, db_url))
    yield eng
    eng.dispose()


class _Undo(Exception):
    pass


def _written(engine: Engine, data: ReferralScreened) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Every row the handler writes for `data` (audit entries flushed), normalised; then undone.
    Also the statements it ran."""
    seen: list[str] = []

    def add(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    out: dict[str, list[dict[str, Any]]] = {}
    event.listen(engine, "before_cursor_execute", add)
    try:
        with unit_of_work(engine, service="case-service", principal=system_principal("case-service")) as uow:
            handlers.on_referral_screened(uow, data, envelope(data))
            uow.session.flush()
            uow.audit_buffer.flush(uow.session)
            event.remove(engine, "before_cursor_execute", add)
            out = _dump(uow.session.connection())
            raise _Undo
    except _Undo:
        pass
    return out, seen


def _dump(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """Each table's rows without their own keys and times; every id replaced by its order of first
    appearance (so two runs compare equal when they wrote the same things about the same ids)."""
    ids: dict[str, str] = {}

    def norm(v: Any) -> Any:
        if isinstance(v, datetime):
            return "<time>"
        if isinstance(v, bytes):
            v = v.decode()
        if isinstance(v, dict | list):
            v = json.dumps(v, sort_keys=True)
        if isinstance(v, str):
            v = TIME.sub("<time>", v)
            return ID.sub(lambda m: ids.setdefault(m.group(0), f"<id{len(ids)}>"), v)
        return v

    out = {}
    for table in sorted(inspect(conn).get_table_names()):
        if table.startswith("alembic"):
            continue
        cols = [c["name"] for c in inspect(conn).get_columns(table)]
        order = "seq" if "seq" in cols else "id" if table == "audit_log" else cols[0]
        for key in ("at", "added_at", "received_at", "opened_at", "created_at"):
            if key in cols and table not in ("audit_log", "outbox"):
                order = f"{key}, {order}"
                break
        rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}")).mappings().all()  # noqa: S608
        dumped = [{k: norm(v) for k, v in r.items() if k not in UNCOMPARED} for r in rows]
        out[table] = sorted(dumped, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return out


@pytest.mark.parametrize(
    "data",
    [
        screened("ref-plain"),
        screened("ref-full", grade="certain", person_ref="R-9", subject=FULL, statutory_status="convicted"),
        screened("ref-police", agency_id="police", urgency="normal", statutory_status="on_licence"),
    ],
    ids=["plain", "records-id-and-pnc", "internal-agency"],
)
def test_case_a_new_person_is_written_as_the_general_path_writes_them(
    engine: Engine, data: ReferralScreened, monkeypatch: pytest.MonkeyPatch
) -> None:
    if data.referral_id == "ref-full":
        data = data.model_copy(update={"partner_reference": "P-1"})
    fast, fast_statements = _written(engine, data)
    monkeypatch.setattr(newcomers, "referral", lambda *_a, **_k: False)  # as if the records id was taken
    general, general_statements = _written(engine, data)
    assert fast == general
    assert fast["case_person"] and fast["case_assessment"] and fast["outbox"]  # something was compared
    assert len(fast["audit_log"]) == 3  # person, assessment, case: collected
    # The general path builds, flushes and updates; the plain one only inserts after its one read.
    assert "UPDATE" in general_statements and "UPDATE" not in fast_statements
    assert len(fast_statements) < len(general_statements)
