"""The schema comes from the migrations only: head on an empty PostgreSQL database is the models'
schema, and the service refuses a database that is not at head."""

from __future__ import annotations

from pathlib import Path

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.migrations import SchemaNotCurrent
from ranking_service.app import build_runtime
from ranking_service.migrations import MIGRATIONS
from ranking_service.models import REGISTRY
from ranking_service.settings import RankingSettings
from sqlalchemy import inspect


@pytest.mark.postgres
def test_head_on_postgres_is_the_models_schema(pg_url: str) -> None:
    assert MIGRATIONS.upgrade(pg_url) == MIGRATIONS.head
    engine = make_engine(pg_url)
    try:
        assert MIGRATIONS.differences(engine) == []
        tables = set(inspect(engine).get_table_names())
        assert {t for t in REGISTRY.metadata.tables if t.startswith("rank_")} <= tables
        assert "alembic_version_ranking" in tables
    finally:
        engine.dispose()


def test_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    settings = RankingSettings(database_url=f"sqlite:///{tmp_path}/empty.db", data_dir=str(tmp_path))
    with pytest.raises(SchemaNotCurrent):
        build_runtime(settings, run_consumer=False)
    assert inspect(make_engine(settings.database_url)).get_table_names() == []  # nothing created
