"""The new person's one read (`repository.newcomers`) keeps its server-side plan on PostgreSQL.

psycopg prepares a statement once it has run five times on a connection; PostgreSQL then plans each
execution again (a custom plan) unless a generic plan costs no more. A lookup whose parameter was
NULL is folded away in a custom plan, so when events without a records id or PNC number were common
the custom plans always looked cheaper and every read was planned anew: 0.14 ms of the server's CPU
per event, eight times the read itself (pg_stat_statements: 1,021 plans for 1,020 calls)."""

from __future__ import annotations

import pytest
from case_service import repository as repo
from case_service.migrations import MIGRATIONS
from hhpu_shared.db import make_engine
from hhpu_shared.testing.databases import migrated
from sqlalchemy import text

pytestmark = pytest.mark.postgres

_PEOPLE = """INSERT INTO case_person
(id, given_name, family_name, aliases, records_id, created_at, updated_at)
SELECT 'p' || n, 'Given', 'Family', '[]', 'K-' || n, now(), now() FROM generate_series(1, 5000) n"""
_IDENTIFIERS = """INSERT INTO case_person_identifier (id, person_id, kind, value, added_at)
SELECT 'i' || n || k, 'p' || n, k, k || '-' || n, now()
FROM generate_series(1, 5000) n, unnest(ARRAY['pnc', 'records_id', 'referral']) k"""


def test_case_the_new_person_read_settles_on_one_plan_whichever_values_are_absent(pg_url: str) -> None:
    engine = make_engine(migrated(MIGRATIONS, pg_url))
    try:
        with engine.begin() as conn:  # people known by records id and PNC number, and statistics
            conn.execute(text(_PEOPLE))
            conn.execute(text(_IDENTIFIERS))
            conn.execute(text("ANALYZE case_person; ANALYZE case_person_identifier"))
        with engine.connect() as conn:  # each kind of event comes many times in a row
            for i in range(20):
                seen = repo.referral_lookup(conn, f"ref-{i}", None, None)  # no records id, no PNC
                assert seen.nobody and seen.referral_mark is None
            for i in range(20):
                assert repo.referral_lookup(conn, f"ref-{i}", f"R-{i}", None).nobody  # a records id only
            for i in range(20):
                seen = repo.candidate_lookup(conn, f"R-{i}", f"2001/{i:07d}A")  # a candidate: no referral
                assert seen.nobody and seen.by_referral is None
            assert repo.referral_lookup(conn, "ref-x", "K-7", None).by_records_id == "p7"  # finds, too
            plans = conn.execute(
                text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                    " WHERE statement LIKE '%protection_mark%'"
                )
            ).all()
    finally:
        engine.dispose()
    for generic, custom in plans:  # PostgreSQL tries five custom plans, then keeps the generic one
        assert custom <= 5 and generic >= 10, plans
    assert len(plans) == 3  # one statement per set of values present, each prepared
