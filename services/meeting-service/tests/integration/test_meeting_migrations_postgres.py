"""Schema migrations on real PostgreSQL: head is exactly the models; old data survives an upgrade."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.migrations import SchemaNotCurrent
from hhpu_shared.testing.migration_data import (
    audit_chain,
    changed_rows,
    first_revision_audit_rows,
    write_rows,
)
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


AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
# Written by a process before the types were reference data, and changed by the unit since.
ROWS: dict[str, list[dict[str, Any]]] = {
    "mtg_meeting_type": [
        {
            "id": "monthly_mam",
            "name": "Monthly MAM",
            "default_duration_minutes": 90,
            "agenda_limit_minutes": 90,
            "quorum_agencies": 4,
            "enforce_quorum": True,
            "created_at": AT,
        }
    ],
    "mtg_agency": [{"id": "housing", "name": "Housing", "spoc_name": "Priya", "active": True}],
    "mtg_series": [
        {
            "id": "s1",
            "meeting_type_id": "monthly_mam",
            "title": "Monthly MAM",
            "recurrence": "monthly",
            "weekday": 1,
            "ordinal": 1,
            "start_time": "10:00",
            "duration_minutes": 90,
            "invited_agency_ids": '["housing"]',
            "active": True,
            "created_at": AT,
        }
    ],
    "mtg_meeting": [
        {
            "id": "m1",
            "series_id": "s1",
            "meeting_type_id": "monthly_mam",
            "title": "March",
            "scheduled_on": date(2026, 3, 3),
            "start_time": "10:00",
            "duration_minutes": 90,
            "agenda_limit_minutes": 90,
            "status": "closed",
            "closed_at": AT,
            "created_at": AT,
        }
    ],
    "mtg_invitation": [
        {
            "id": "inv1",
            "meeting_id": "m1",
            "agency_id": "housing",
            "agency_name": "Housing",
            "response": "accepted",
            "attended": True,
        }
    ],
    "mtg_agenda_item": [
        {
            "id": "i1",
            "meeting_id": "m1",
            "item_key": "assessment:asm-1",
            "kind": "new_case",
            "title": "New case: Dean Marsh",
            "assessment_id": "asm-1",
            "person_id": "per-1",
            "urgency": "high",
            "order_hint": 0,
            "planned_minutes": 10,
            "pinned": False,
            "source": "event",
            "status": "planned",
            "minutes": "Adopted into the HHPU cohort.",
            "created_at": AT,
        }
    ],
    "mtg_action": [
        {
            "id": "a1",
            "meeting_id": "m1",
            "item_id": "i1",
            "description": "Share the housing history",
            "owner_name": "Priya",
            "owner_agency_id": "housing",
            "person_id": "per-1",
            "due_date": date(2026, 3, 20),
            "status": "open",
            "carry_count": 1,
            "created_by": "user:chair",
            "created_at": AT,
            "updated_at": AT,
        }
    ],
    "mtg_action_carry": [
        {
            "id": "c1",
            "action_id": "a1",
            "from_meeting_id": "m1",
            "to_meeting_id": "m1",
            "reason_code": "in_progress",
            "reason": "awaiting the file",
            "previous_status": "open",
            "previous_due_date": date(2026, 3, 10),
            "carried_by": "user:chair",
            "carried_at": AT,
        }
    ],
    "mtg_outcome": [
        {
            "id": "o1",
            "meeting_id": "m1",
            "item_id": "i1",
            "kind": "decision",
            "decision": "adopt",
            "decided_by": "DI Sarah Cole",
            "cohort": "hhpu",
            "recorded_by": "user:chair",
            "created_at": AT,
        }
    ],
    "mtg_addendum": [
        {
            "id": "ad1",
            "meeting_id": "m1",
            "text": "Minutes approved.",
            "author": "user:chair",
            "created_at": AT,
        }
    ],
}


def test_a_database_at_the_first_revision_keeps_its_data_when_upgraded(pg_url: str) -> None:
    MIGRATIONS.upgrade(pg_url, MIGRATIONS.base)
    engine = make_engine(pg_url)
    try:
        write_rows(engine, {**ROWS, "audit_log": first_revision_audit_rows("meeting-service", 2, AT)})
        assert MIGRATIONS.upgrade(pg_url) == MIGRATIONS.head
        assert MIGRATIONS.differences(engine) == []
        assert changed_rows(engine, ROWS) == []  # the unit's own monthly type among them, unchanged
        with engine.connect() as conn:
            types = dict(conn.execute(text("SELECT id, agenda_limit_minutes FROM mtg_meeting_type")).all())
        assert types == {"monthly_mam": 90, "daily_briefing": 15, "case_conference": 60}  # the missing added
        chain = audit_chain(engine)
        assert chain.ok and chain.checked == 2
    finally:
        engine.dispose()
