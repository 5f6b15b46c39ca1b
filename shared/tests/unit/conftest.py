"""Fixtures of the shared library's unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.testing import steps
from sqlalchemy import Engine


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh SQLite or PostgreSQL database holding the steps service's tables
    (`hhpu_shared.testing.steps`: its outbox, inbox, audit log and step rows). A module needing
    other tables or engine options defines its own."""
    eng = make_engine(db_url)
    steps.create_tables(eng)
    yield eng
    eng.dispose()
