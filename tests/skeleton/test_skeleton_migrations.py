"""Every service's schema comes from its own migrations, and the models never drift from them.

On real PostgreSQL (and SQLite, the embedded default): an empty database upgraded to head has
exactly the models' schema (an autogenerate comparison finds no difference), so a model changed
without a migration fails here; a database at the first revision holding data upgrades to head
with the data intact; a process refuses a database that is not at head.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hhpu.services import SERVICES, spec
from hhpu_shared.db import make_engine
from hhpu_shared.migrations import SchemaNotCurrent
from sqlalchemy import inspect, text

NAMES = list(SERVICES)


@pytest.mark.postgres
@pytest.mark.parametrize("name", NAMES)
def test_empty_postgres_upgraded_to_head_is_exactly_the_models(name: str, pg_url: str) -> None:
    migrations = spec(name).migrations
    assert migrations.upgrade(pg_url) == migrations.head
    engine = make_engine(pg_url)
    try:
        assert migrations.differences(engine) == [], "a model changed without a migration"
        tables = set(inspect(engine).get_table_names())
        assert set(migrations.metadata.tables) | {migrations.version_table} == tables
        assert migrations.current(engine) == migrations.head
        migrations.require_head(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", NAMES)
def test_sqlite_upgraded_to_head_is_exactly_the_models(name: str, sqlite_url: str) -> None:
    migrations = spec(name).migrations
    migrations.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        assert migrations.differences(engine) == []
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("name", NAMES)
def test_data_at_the_first_revision_survives_the_upgrade_to_head(name: str, pg_url: str) -> None:
    migrations = spec(name).migrations
    migrations.upgrade(pg_url, migrations.base)
    engine = make_engine(pg_url)
    marker = uuid.uuid4().hex
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_log (at, service, operation, actor, actor_kind, subject_type, "
                    "subject_id, justification) "
                    "VALUES (:at, :s, 'consult', 'u', 'staff', 'person', :m, 'test')"
                ),
                {"at": datetime.now(UTC), "s": name, "m": marker},
            )
        migrations.upgrade(pg_url)
        with engine.connect() as conn:
            found = conn.execute(text("SELECT count(*) FROM audit_log WHERE subject_id = :m"), {"m": marker})
            assert found.scalar() == 1
        assert migrations.current(engine) == migrations.head
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", NAMES)
def test_a_process_refuses_a_database_that_is_not_migrated(name: str, sqlite_url: str) -> None:
    service = spec(name)
    settings = service.settings(database_url=sqlite_url)
    with pytest.raises(SchemaNotCurrent, match="hhpu migrate"):
        service.build_runtime(settings)
    engine = make_engine(sqlite_url)
    try:
        assert inspect(engine).get_table_names() == [], "the process created tables itself"
    finally:
        engine.dispose()


@pytest.mark.parametrize("name", NAMES)
def test_each_service_has_its_own_metadata_and_version_table(name: str) -> None:
    migrations = spec(name).migrations
    others = [spec(n).migrations for n in NAMES if n != name]
    assert all(o.metadata is not migrations.metadata for o in others)
    assert len({o.version_table for o in others} | {migrations.version_table}) == len(NAMES)
    plumbing = {"outbox", "inbox", "audit_log", "protection_mark"}
    own = set(migrations.metadata.tables) - plumbing
    assert own and all(not (own & (set(o.metadata.tables) - plumbing)) for o in others)
