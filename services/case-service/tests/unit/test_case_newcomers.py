"""A referral about a person new to the unit takes the plain-statement path (`service.newcomers`):
it must write exactly what the general path (people.create, assessments.add_trigger,
cases.ensure_candidate, retention.refresh) writes for the same referral, row for row, audit entries
and event included; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from case_rows import Rows, written
from case_service import handlers
from case_service.migrations import MIGRATIONS
from case_service.service import newcomers
from case_testing import envelope, screened
from hhpu_shared.db import make_engine
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.referral import ReferralScreened
from hhpu_shared.testing.databases import migrated
from sqlalchemy import Engine, event

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


def _written(engine: Engine, data: ReferralScreened) -> tuple[Rows, list[str]]:
    return written(engine, lambda uow: handlers.on_referral_screened(uow, data, envelope(data)))


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


@pytest.mark.postgres
def test_case_every_statement_of_a_new_person_stays_in_psycopgs_parse_cache(pg_url: str) -> None:
    """psycopg parses a statement's placeholders again on every execution when it has more than
    MAX_CACHED_STATEMENT_PARAMS parameters (or is longer than MAX_CACHED_STATEMENT_LENGTH): the new
    person's one INSERT of four rows once bound all 53 columns and cost 0.3 ms of CPU per event so.
    Those rows now go at the commit as one JSON parameter per table; every statement stays under both
    limits."""
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH, MAX_CACHED_STATEMENT_PARAMS

    sizes: list[tuple[int, int, str]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, many: bool) -> None:
        if not many:
            sizes.append((len(params or ()), len(statement.encode()), " ".join(statement.split()[:3])))

    engine = make_engine(migrated(MIGRATIONS, pg_url))
    event.listen(engine, "before_cursor_execute", seen)
    try:
        for data in (screened("ref-a"), screened("ref-b", grade="certain", person_ref="R-9", subject=FULL)):
            _written(engine, data.model_copy(update={"partner_reference": "P-1"}))
    finally:
        engine.dispose()
    assert any(head == "INSERT INTO case_assessment" for _n, _len, head in sizes)  # the opened rows went
    too_big = [s for s in sizes if s[0] > MAX_CACHED_STATEMENT_PARAMS or s[1] > MAX_CACHED_STATEMENT_LENGTH]
    assert too_big == []
