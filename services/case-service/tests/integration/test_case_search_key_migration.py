"""The search keys' own revision: (person_id, key) becomes the primary key, the surrogate id, the
unique constraint and the redundant person_id index go; the keys are kept both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from case_service.migrations import MIGRATIONS
from hhpu_shared.db import make_engine
from sqlalchemy import Engine, inspect, text

KEYS = [("p1", "ANN"), ("p1", "LEE"), ("p2", "ANN")]


def _shape(engine: Engine) -> tuple[list[str], set[str | None], set[str | None], list[tuple[str, str]]]:
    with engine.connect() as conn:
        ins = inspect(conn)
        pk = ins.get_pk_constraint("case_person_search_key")["constrained_columns"]
        indexes = {i["name"] for i in ins.get_indexes("case_person_search_key")}
        uniques = {u["name"] for u in ins.get_unique_constraints("case_person_search_key")}
        keys = conn.execute(text("SELECT person_id, key FROM case_person_search_key ORDER BY 1, 2")).all()
    return pk, indexes, uniques, [tuple(k) for k in keys]


@pytest.mark.parametrize("url", ["sqlite_url", "pg_url"])
def test_search_keys_are_keyed_by_person_and_key_and_kept_both_ways(
    url: str, request: pytest.FixtureRequest
) -> None:
    db = request.getfixturevalue(url)
    before = MIGRATIONS.upgrade(db, "22493361ab9a")  # the revision before
    engine = make_engine(db)
    try:
        now = datetime.now(UTC)
        with engine.begin() as conn:
            for pid in ("p1", "p2"):
                conn.execute(
                    text(
                        "INSERT INTO case_person (id, given_name, family_name, aliases, created_at,"
                        " updated_at) VALUES (:id, 'Ann', 'Lee', '[]', :now, :now)"
                    ),
                    {"id": pid, "now": now},
                )
            for i, (pid, key) in enumerate(KEYS):
                conn.execute(
                    text("INSERT INTO case_person_search_key (id, person_id, key) VALUES (:i, :p, :k)"),
                    {"i": f"k{i}", "p": pid, "k": key},
                )
        assert MIGRATIONS.upgrade(db) == MIGRATIONS.head
        pk, indexes, uniques, keys = _shape(engine)
        assert pk == ["person_id", "key"] and keys == KEYS
        assert indexes == {"ix_case_person_search_key_key"} and not uniques
        assert MIGRATIONS.differences(engine) == []

        assert MIGRATIONS.migrate_to(db, before) == before
        pk, indexes, uniques, keys = _shape(engine)
        assert pk == ["id"] and keys == KEYS
        assert indexes >= {"ix_case_person_search_key_key", "ix_case_person_search_key_person_id"}
        assert "uq_case_search_key_person_key" in uniques | indexes  # SQLite reports it as an index
        with engine.connect() as conn:
            ids = conn.execute(text("SELECT id FROM case_person_search_key")).scalars().all()
        assert len(set(ids)) == 3 and all(len(i) == 32 for i in ids)
    finally:
        engine.dispose()
