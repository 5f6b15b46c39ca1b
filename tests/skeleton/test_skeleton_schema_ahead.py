"""A database a newer release migrated (a rolling upgrade in progress, or a rolled-back image).

The rule (docs/deployment.md, "Schema migrations"): a process, and its release's ``migrate``, accept a
database at a revision they do not know when the difference to their models is additive (tables,
non-unique indexes, columns they can leave out) or drops only a non-unique index their models declare
(a lookup without it is slower, never wrong); anything else is refused with what differs, and
the newer release's ``migrate --to <older head>`` takes the database back first.

The newer release here is the ranking-service's migrations plus one revision, copied into a
temporary package.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.migrations import SchemaNotCurrent, ServiceMigrations
from ranking_service import migrations as ranking_migrations
from ranking_service.migrations import MIGRATIONS as RELEASED
from sqlalchemy import inspect

ADDITIVE = """
def upgrade() -> None:
    op.create_table("rank_note", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("n", sa.Text()))
    with op.batch_alter_table("rank_run") as batch_op:
        batch_op.add_column(sa.Column("reviewed_by", sa.String(128), nullable=True))
        batch_op.add_column(sa.Column("basis", sa.String(16), nullable=False, server_default="chi"))
        batch_op.create_index("ix_rank_run_reviewed_by", ["reviewed_by"])
        batch_op.drop_index("ix_rank_run_kind")  # a plain index the older code declares: it runs without


def downgrade() -> None:
    with op.batch_alter_table("rank_run") as batch_op:
        batch_op.create_index("ix_rank_run_kind", ["kind"])
        batch_op.drop_index("ix_rank_run_reviewed_by")
        batch_op.drop_column("basis")
        batch_op.drop_column("reviewed_by")
    op.drop_table("rank_note")
"""
# A contract step: a column this release's code writes (and its unique constraint) is gone.
NOT_ADDITIVE = """
def upgrade() -> None:
    with op.batch_alter_table("rank_run") as batch_op:
        batch_op.drop_column("schedule_key")


def downgrade() -> None:
    with op.batch_alter_table("rank_run") as batch_op:
        batch_op.add_column(sa.Column("schedule_key", sa.String(64), nullable=True))
        batch_op.create_unique_constraint("uq_rank_run_schedule_key", ["schedule_key"])
"""


@pytest.fixture
def newer_release(tmp_path: Path) -> Iterator[Callable[..., ServiceMigrations]]:
    """Make the ranking-service's migrations plus one revision (`body`) a package of their own; with
    `reviewed_by`, its models have a column its migrations do not."""

    def make(body: str | None, *, reviewed_by: bool = False) -> ServiceMigrations:
        pkg = tmp_path / "newer_ranking"
        shutil.copytree(Path(ranking_migrations.__file__).parent, pkg / "migrations")
        (pkg / "__init__.py").write_text("")
        (pkg / "migrations" / "__init__.py").write_text(
            "from hhpu_shared.migrations import ServiceMigrations\n"
            "from ranking_service.models import REGISTRY\n"
            "from sqlalchemy import Column, MetaData, String\n"
            "old = REGISTRY.metadata\n"
            "md = MetaData(naming_convention=old.naming_convention, info=old.info)\n"
            "for table in old.tables.values():\n"
            "    table.to_metadata(md)\n"
            + (
                "md.tables['rank_run'].append_column(Column('reviewed_by', String(128), nullable=True))\n"
                if reviewed_by
                else ""
            )
            + "MIGRATIONS = ServiceMigrations(package='newer_ranking', metadata=md)\n"
        )
        (pkg / "migrations" / "env.py").write_text(
            "from hhpu_shared.migrations import run_env\n"
            "from newer_ranking.migrations import MIGRATIONS\n"
            "run_env(MIGRATIONS)\n"
        )
        header = (
            'import sqlalchemy as sa\nfrom alembic import op\n\nrevision = "9999newer001"\n'
            f'down_revision = "{RELEASED.head}"\nbranch_labels = None\ndepends_on = None\n'
        )
        if body is not None:
            (pkg / "migrations" / "versions" / "29990101_9999newer001_newer.py").write_text(header + body)
        sys.path.insert(0, str(tmp_path))
        found: ServiceMigrations = importlib.import_module("newer_ranking.migrations").MIGRATIONS
        return found

    yield make
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("newer_ranking")]:
        del sys.modules[name]


def test_an_additive_newer_schema_is_accepted_by_the_older_release(
    db_url: str, newer_release: Callable[..., ServiceMigrations]
) -> None:
    release = newer_release(ADDITIVE)
    assert release.upgrade(db_url) == "9999newer001"
    engine = make_engine(db_url)
    try:
        assert [d[0] for d in RELEASED.differences(engine)].count("add_index") == 1  # ix_rank_run_kind
        assert RELEASED.not_additive(engine) == []
        RELEASED.require_head(engine)  # an older pod restarting mid-rollout, or the rolled-back image
        assert RELEASED.upgrade(db_url) == "9999newer001"  # its init container: nothing to do, no error
        assert "rank_note" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_newer_schema_that_is_not_additive_is_refused_until_taken_back(
    db_url: str, newer_release: Callable[..., ServiceMigrations]
) -> None:
    release = newer_release(NOT_ADDITIVE)
    release.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        assert "add_column rank_run schedule_key" in RELEASED.not_additive(engine)
        with pytest.raises(SchemaNotCurrent, match=f"migrate --to {RELEASED.head}"):
            RELEASED.require_head(engine)
        with pytest.raises(SchemaNotCurrent, match="not compatible"):
            RELEASED.upgrade(db_url)
        assert release.migrate_to(db_url, RELEASED.head) == RELEASED.head  # the newer release takes it back
        RELEASED.require_head(engine)
        assert RELEASED.differences(engine) == []
    finally:
        engine.dispose()


def test_a_database_behind_the_code_is_still_refused(sqlite_url: str) -> None:
    RELEASED.upgrade(sqlite_url, RELEASED.base)
    engine = make_engine(sqlite_url)
    try:
        with pytest.raises(SchemaNotCurrent, match="hhpu migrate"):
            RELEASED.require_head(engine)
    finally:
        engine.dispose()


def test_make_migration_writes_the_models_change_as_a_revision(
    sqlite_url: str, newer_release: Callable[..., ServiceMigrations]
) -> None:
    """``make migration PKG=... MSG=...`` (``MIGRATIONS.revision``): autogenerated from the models'
    difference to head, written into the package's versions, and applying it gives the models."""
    release = newer_release(None, reviewed_by=True)
    path = Path(release.revision("rank run reviewed by"))
    assert path.parent == Path(release.script.dir) / "versions" and path.name.endswith(
        "_rank_run_reviewed_by.py"
    )
    text = path.read_text()
    assert f'down_revision: str | None = "{RELEASED.head}"' in text
    assert 'add_column(sa.Column("reviewed_by", sa.String(length=128), nullable=True))' in text
    assert release.upgrade(sqlite_url) != RELEASED.head
    engine = make_engine(sqlite_url)
    try:
        assert release.differences(engine) == []
    finally:
        engine.dispose()
