"""Schema migrations on real PostgreSQL: head is exactly the models; old data survives an upgrade."""

from __future__ import annotations

from typing import Any

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.migrations import SchemaNotCurrent
from meeting_service.app import build_runtime
from meeting_service.migrations import MIGRATIONS
from meeting_service.settings import MeetingSettings
from sqlalchemy import text

pytestmark = pytest.mark.postgres


def test_an_empty_database_upgraded_to_head_is_exactly_the_models(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with pytest.raises(SchemaNotCurrent):  # processes never create tables
            build_runtime(MeetingSettings(database_url=pg_url, environment="test"), engine=engine)
        assert MIGRATIONS.upgrade(pg_url) == MIGRATIONS.head
        assert MIGRATIONS.differences(engine) == []
        with engine.connect() as conn:
            types = conn.execute(
                text("SELECT id, agenda_limit_minutes FROM mtg_meeting_type ORDER BY id")
            ).all()
        assert types == [("case_conference", 60), ("daily_briefing", 15), ("monthly_mam", 120)]
        assert MIGRATIONS.upgrade(pg_url) == MIGRATIONS.head  # again: nothing to do, nothing doubled
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM mtg_meeting_type")).scalar() == 3
    finally:
        engine.dispose()


def test_a_database_at_the_first_revision_keeps_its_data_when_upgraded(pg_url: str) -> None:
    MIGRATIONS.upgrade(pg_url, MIGRATIONS.base)
    engine = make_engine(pg_url)
    rows: dict[str, Any] = {
        # written by a process before the types were reference data, and changed by the unit since
        "mtg_meeting_type": "INSERT INTO mtg_meeting_type (id, name, default_duration_minutes, "
        "agenda_limit_minutes, quorum_agencies, enforce_quorum, created_at) "
        "VALUES ('monthly_mam', 'Monthly MAM', 90, 90, 4, true, now())",
        "mtg_agency": "INSERT INTO mtg_agency (id, name, spoc_name, active) "
        "VALUES ('housing', 'Housing', 'Priya', true)",
        "mtg_meeting": "INSERT INTO mtg_meeting (id, meeting_type_id, title, scheduled_on, start_time, "
        "duration_minutes, agenda_limit_minutes, status, created_at) "
        "VALUES ('m1', 'monthly_mam', 'March', '2026-03-03', '10:00', 90, 90, 'closed', now())",
    }
    try:
        with engine.begin() as conn:
            for sql in rows.values():
                conn.execute(text(sql))
        assert MIGRATIONS.upgrade(pg_url) == MIGRATIONS.head
        assert MIGRATIONS.differences(engine) == []
        with engine.connect() as conn:
            types = dict(conn.execute(text("SELECT id, agenda_limit_minutes FROM mtg_meeting_type")).all())
            assert types == {"monthly_mam": 90, "daily_briefing": 15, "case_conference": 60}
            assert (
                conn.execute(text("SELECT spoc_name FROM mtg_agency WHERE id = 'housing'")).scalar()
                == "Priya"
            )
            assert conn.execute(text("SELECT status FROM mtg_meeting WHERE id = 'm1'")).scalar() == "closed"
    finally:
        engine.dispose()
