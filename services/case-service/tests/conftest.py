"""Fixtures of the case-service tests (the rest come from the project's pytest plugin)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from case_service.migrations import MIGRATIONS
from hhpu_shared.db import make_engine
from hhpu_shared.testing.databases import migrated
from sqlalchemy import Engine


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The case-service's database migrated to head, on SQLite and on PostgreSQL (`db_url`)."""
    eng = make_engine(migrated(MIGRATIONS, db_url))
    yield eng
    eng.dispose()
