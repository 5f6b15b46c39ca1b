"""No service keeps an index that another index on the same table starts with.

Such an index answers nothing the other cannot (a lookup by its columns uses the longer index's
leading columns) and is one more B-tree to write for every row inserted. Four had crept in from
``index=True`` on a column a unique constraint begins with (a referral's agency, a trigger's
assessment, an agenda item's and an invitation's meeting, a ranking entry's run); revision
"no index a unique constraint starts with" of each service drops them, and its downgrade builds them
again. On real PostgreSQL, from each service's migrations at head.
"""

from __future__ import annotations

import pytest
from hhpu.services import SERVICES, spec
from hhpu_shared.db import make_engine
from sqlalchemy import text

# Plain (not unique, not partial, not on expressions) B-tree indexes whose columns, in order, begin
# another such index on the same table (unique or not).
_REDUNDANT = """
WITH ix AS (
    SELECT i.indrelid, c.relname AS name, i.indkey::text AS cols, i.indisunique AS uniq,
           i.indpred IS NULL AND i.indexprs IS NULL AS plain, am.amname AS method
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_am am ON am.oid = c.relam
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema()
)
SELECT a.indrelid::regclass::text AS tbl, a.name, b.name AS covered_by
FROM ix a JOIN ix b ON a.indrelid = b.indrelid AND a.name <> b.name
WHERE NOT a.uniq AND a.plain AND b.plain AND a.method = 'btree' AND b.method = 'btree'
  AND (b.cols = a.cols OR b.cols LIKE a.cols || ' %')
ORDER BY 1, 2
"""


def _redundant(url: str) -> list[tuple[str, str, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [(r.tbl, r.name, r.covered_by) for r in conn.execute(text(_REDUNDANT))]
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("name", list(SERVICES))
def test_no_index_is_the_beginning_of_another(name: str, pg_url: str) -> None:
    migrations = spec(name).migrations
    migrations.upgrade(pg_url)
    assert _redundant(pg_url) == []


@pytest.mark.postgres
def test_the_query_finds_such_an_index_and_the_revision_s_downgrade_builds_it_again(pg_url: str) -> None:
    """The check can fail: one revision down, the meeting-service's two indexes are there again."""
    migrations = spec("meeting-service").migrations
    head = migrations.upgrade(pg_url)
    [step] = [r for r in migrations.script.walk_revisions() if "no index a unique" in (r.doc or "")]
    previous = step.down_revision
    assert isinstance(previous, str)
    assert migrations.migrate_to(pg_url, previous) == previous
    assert _redundant(pg_url) == [
        ("mtg_agenda_item", "ix_mtg_agenda_item_meeting_id", "uq_mtg_agenda_item_key"),
        ("mtg_invitation", "ix_mtg_invitation_meeting_id", "uq_mtg_invitation_agency"),
    ]
    assert migrations.upgrade(pg_url) == head
    assert _redundant(pg_url) == []
