"""The migrations build exactly the models' schema on real PostgreSQL, and processes refuse less."""

from __future__ import annotations

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.migrations import SchemaNotCurrent
from referral_api.app import build_runtime
from referral_api.migrations import MIGRATIONS
from referral_api.settings import ReferralSettings
from sqlalchemy import inspect

pytestmark = pytest.mark.postgres


def test_an_empty_database_upgraded_to_head_has_exactly_the_models_schema(pg_url: str) -> None:
    assert MIGRATIONS.upgrade(pg_url) == MIGRATIONS.head
    engine = make_engine(pg_url)
    try:
        assert MIGRATIONS.differences(engine) == []
        tables = set(inspect(engine).get_table_names())
        assert {
            "ref_referral",
            "ref_webhook_attempt",
            "outbox",
            "inbox",
            "alembic_version_referral",
        } <= tables
        assert "ref_webhook_delivery" not in tables  # the old delivery queue is gone
    finally:
        engine.dispose()


def test_a_process_refuses_a_database_that_is_not_at_head(pg_url: str) -> None:
    with pytest.raises(SchemaNotCurrent):
        build_runtime(ReferralSettings(database_url=pg_url))
