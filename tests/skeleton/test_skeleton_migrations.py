"""Every service's schema comes from its own migrations, and the models never drift from them.

On real PostgreSQL (and SQLite, the embedded default): an empty database upgraded to head has
exactly the models' schema (an autogenerate comparison finds no difference), so a model changed
without a migration fails here; a database at the first revision holding data upgrades to head
with the data intact; a process refuses a database that is not at head.
"""

from __future__ import annotations

import ast
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hhpu.services import SERVICES, spec
from hhpu_shared.db import make_engine
from hhpu_shared.migrations import SchemaNotCurrent, ServiceMigrations
from hhpu_shared.testing.migration_data import audit_chain
from sqlalchemy import Column, Integer, MetaData, String, inspect, text

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
        with engine.connect() as conn:  # plumbing step 5: the outbox no longer notifies (step 3's trigger)
            triggers = conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars()
            assert "outbox_notify" not in set(triggers)
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
        chain = audit_chain(engine)  # the entry written before the hash chain existed is chained
        assert chain.ok and chain.checked == 1
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
    plumbing = PLUMBING
    own = set(migrations.metadata.tables) - plumbing
    assert own and all(not (own & (set(o.metadata.tables) - plumbing)) for o in others)


def _changed_models(migrations: ServiceMigrations, change: str) -> ServiceMigrations:
    """The service's migrations against a copy of its models with one change made."""
    metadata = MetaData(
        naming_convention=migrations.metadata.naming_convention, info=migrations.metadata.info
    )
    for table in migrations.metadata.tables.values():
        table.to_metadata(metadata)
    outbox = metadata.tables["outbox"]
    if change == "column":
        outbox.append_column(Column("forgotten", String(20), nullable=True))
    elif change == "server_default":
        outbox.c.attempts.server_default = None
        outbox.append_column(Column("tries", Integer(), nullable=False, server_default="0"))
    else:
        outbox.c.topic.type = String(200)
    return ServiceMigrations(migrations.package, metadata)


@pytest.mark.parametrize("change", ["column", "server_default", "type"])
def test_the_comparison_catches_a_model_changed_without_a_migration(change: str, sqlite_url: str) -> None:
    migrations = spec("case-service").migrations
    migrations.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        assert migrations.differences(engine) == []
        found = _changed_models(migrations, change).differences(engine)
        assert found, f"a {change} change went unnoticed"
    finally:
        engine.dispose()


def test_a_server_default_the_models_do_not_have_is_a_difference(sqlite_url: str) -> None:
    migrations = spec("case-service").migrations
    migrations.upgrade(sqlite_url)
    metadata = MetaData(
        naming_convention=migrations.metadata.naming_convention, info=migrations.metadata.info
    )
    for table in migrations.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["case_person"].c.mopi_group.server_default = None  # the database keeps its "4"
    engine = make_engine(sqlite_url)
    try:
        (diff,) = ServiceMigrations(migrations.package, metadata).differences(engine)
        assert diff[0][0] == "modify_default" and diff[0][3] == "mopi_group"
    finally:
        engine.dispose()


PLUMBING = {"outbox", "inbox", "audit_log", "audit_chain", "protection_mark"}
DDL = {"create_table", "drop_table", "rename_table", "batch_alter_table", "add_column", "alter_column"}


@pytest.mark.parametrize("name", NAMES)
def test_no_service_revision_writes_the_plumbing_tables_schema_itself(name: str) -> None:
    """The plumbing tables' steps are written once (hhpu_shared.plumbing_schema); a service's
    revision calls them, never copies them."""
    versions = Path(spec(name).migrations.script.dir) / "versions"
    calls = 0
    for path in sorted(versions.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and first.value in PLUMBING and node.func.attr in DDL:
                raise AssertionError(f"{path.name} writes {first.value} itself ({node.func.attr})")
            value = node.func.value
            calls += isinstance(value, ast.Name) and value.id == "plumbing_schema"
    assert calls >= 8  # create_v1 and drop_v1, and the upgrade and downgrade of steps 2, 3 and 4


def test_hhpu_migrate_brings_every_service_database_to_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hhpu.cli import main

    main(["migrate", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    for name in NAMES:
        service = spec(name)
        migrations = service.migrations
        assert f"{name}: database at revision {migrations.head}" in out
        settings = service.settings(data_dir=str(tmp_path), database_url="")
        engine = make_engine(settings.effective_database_url())
        try:
            assert migrations.current(engine) == migrations.head
            assert migrations.differences(engine) == []
        finally:
            engine.dispose()
    main(["migrate", "--data-dir", str(tmp_path), "--service", "case-service"])  # again: nothing to do
    assert (
        capsys.readouterr().out.strip()
        == f"case-service: database at revision {spec('case-service').migrations.head}"
    )


def _outbox_triggers(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'outbox'::regclass"))
            return set(rows.scalars())
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("name", NAMES)
def test_the_outbox_notify_steps_roll_back_and_forward(name: str, pg_url: str) -> None:
    """Each service's revisions of plumbing steps 3 (the outbox's NOTIFY trigger) and 5 (that trigger
    gone again): at head there is none; below step 5 it is there; below step 3 it is gone; forward
    again, gone at head."""
    migrations = spec(name).migrations
    step3 = _step(migrations, "plumbing_schema.upgrade_v3()")
    step5 = _step(migrations, "plumbing_schema.upgrade_v5()")
    migrations.upgrade(pg_url)
    assert _outbox_triggers(pg_url) == set()
    assert migrations.migrate_to(pg_url, step5.down_revision) == step5.down_revision
    assert _outbox_triggers(pg_url) == {"outbox_notify"}
    assert migrations.migrate_to(pg_url, step3.down_revision) == step3.down_revision
    assert _outbox_triggers(pg_url) == set()
    assert migrations.migrate_to(pg_url, step5.down_revision) == step5.down_revision
    assert _outbox_triggers(pg_url) == {"outbox_notify"}
    assert migrations.upgrade(pg_url) == migrations.head
    assert _outbox_triggers(pg_url) == set()


def _step(migrations: ServiceMigrations, call: str) -> Any:
    [step] = [r for r in migrations.script.walk_revisions() if call in Path(r.path).read_text()]
    assert isinstance(step.down_revision, str)
    return step


def _audit(url: str, subjects: list[str]) -> None:
    """Entries written by the application at head."""
    from hhpu_shared.audit import AuditOperation, write_audit
    from hhpu_shared.auth import Principal
    from sqlmodel import Session

    engine = make_engine(url)
    try:
        for subject in subjects:
            with Session(engine) as s:
                write_audit(
                    s,
                    service="t",
                    operation=AuditOperation.CONSULT,
                    principal=Principal(subject="om-1", kind="staff", roles=frozenset()),
                    subject_type="person",
                    subject_id=subject,
                    justification="written around plumbing step 4",
                )
                s.commit()
    finally:
        engine.dispose()


def _step2_audit(url: str, subjects: list[str]) -> None:
    """Entries as step 2's application wrote them: linked in id order in audit_log itself."""
    from hhpu_shared.audit import GENESIS
    from hhpu_shared.audit_schema import legacy_entry_hash
    from hhpu_shared.testing.migration_data import first_revision_audit_rows, write_rows

    prev = GENESIS
    rows = []
    for i, row in enumerate(first_revision_audit_rows("t", len(subjects), datetime.now(UTC))):
        row = {**row, "subject_id": subjects[i]}
        row["prev_hash"], row["entry_hash"] = prev, legacy_entry_hash(prev, row)
        prev = row["entry_hash"]
        rows.append(row)
    engine = make_engine(url)
    try:
        write_rows(engine, {"audit_log": rows})
    finally:
        engine.dispose()


def _step2_chain_ok(engine: Any) -> int:
    from hhpu_shared.audit import GENESIS
    from hhpu_shared.audit_schema import _legacy_table, legacy_entry_hash

    table = _legacy_table()
    prev = GENESIS
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(table.select().order_by(table.c.id))]
    for row in rows:
        assert row["prev_hash"] == prev and legacy_entry_hash(prev, row) == row["entry_hash"]
        prev = row["entry_hash"]
    return len(rows)


@pytest.mark.parametrize("name", ["case-service", "referral-api"])
@pytest.mark.parametrize("url", ["sqlite_url", "pg_url"])
def test_the_audit_chain_step_relinks_entries_both_ways(
    name: str, url: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plumbing step 4 (the chain at commit, in audit_chain): entries chained by step 2 are re-linked
    going up and chained as step 2 did going down, and entries written at either end stay verified."""
    db = request.getfixturevalue(url)
    migrations = spec(name).migrations
    step4 = _step(migrations, "plumbing_schema.upgrade_v4()")
    migrations.upgrade(db, step4.down_revision)
    _step2_audit(db, [f"before-{i}" for i in range(5)])
    monkeypatch.setattr("hhpu_shared.audit_schema.RELINK_BATCH", 2)  # three batches: 2, 2 and 1
    migrations.upgrade(db)
    _audit(db, ["after-1"])
    engine = make_engine(db)
    try:
        assert migrations.differences(engine) == []
        chain = audit_chain(engine)
        assert chain.ok and chain.checked == 6
        assert migrations.migrate_to(db, step4.down_revision) == step4.down_revision
        with engine.connect() as conn:
            assert "audit_chain" not in inspect(conn).get_table_names()
        assert _step2_chain_ok(engine) == 6
    finally:
        engine.dispose()
    migrations.upgrade(db)
    assert audit_chain(make_engine(db)).ok


@pytest.mark.postgres
def test_the_audit_chain_step_stops_at_a_broken_chain(pg_url: str) -> None:
    """A step-2 chain that does not verify is not re-linked (that would hide the tampering)."""
    from hhpu_shared.audit_schema import BrokenAuditChain

    migrations = spec("meeting-service").migrations
    step4 = _step(migrations, "plumbing_schema.upgrade_v4()")
    migrations.upgrade(pg_url, step4.down_revision)
    _step2_audit(pg_url, ["one", "two"])
    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            conn.execute(text("UPDATE audit_log SET justification = 'rewritten' WHERE subject_id = 'two'"))
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        with pytest.raises(BrokenAuditChain, match="broken at id 2"):
            migrations.upgrade(pg_url)
        assert migrations.current(engine) == step4.down_revision
    finally:
        engine.dispose()


def test_the_sqlite_schema_templates_are_removed_when_the_process_ends(tmp_path: Path) -> None:
    """Test sessions copy a migrated template per service from the temp dir; the process removes
    them as it exits (they were left behind by every run)."""
    import subprocess
    import sys

    code = (
        "from hhpu.services import spec\n"
        "from hhpu_shared.testing import databases\n"
        f"databases.migrated(spec('meeting-service').migrations, 'sqlite:///{tmp_path}/m.db')\n"
        "print(next(iter(databases._TEMPLATES.values())))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    template = Path(out.stdout.strip().splitlines()[-1])
    assert template.name == "meeting.db" and (tmp_path / "m.db").stat().st_size > 0
    assert not template.parent.exists()
