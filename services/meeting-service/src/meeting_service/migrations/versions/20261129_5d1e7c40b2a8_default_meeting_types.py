"""default meeting types (reference data)

The three meeting types every unit starts with. They were inserted by the processes at start-up
(API and consumer raced to do it); they are data of the schema now, written once by the migration.
A unit changes them over the API (PUT /meeting-types/{id}). A database made before migrations
(stamped at the first revision) already holds them: only missing types are inserted, and a type a
unit has changed is left as it is. The downgrade removes only types no series or meeting uses.

Revision ID: 5d1e7c40b2a8
Revises: a93d2c2d9447
Create Date: 2026-11-29 17:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

revision: str = "5d1e7c40b2a8"
down_revision: str | None = "a93d2c2d9447"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

meeting_type = sa.table(
    "mtg_meeting_type",
    sa.column("id", sa.String),
    sa.column("name", sa.String),
    sa.column("description", sa.String),
    sa.column("default_duration_minutes", sa.Integer),
    sa.column("agenda_limit_minutes", sa.Integer),
    sa.column("quorum_agencies", sa.Integer),
    sa.column("enforce_quorum", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
)

# id, name, description, default duration, agenda limit (minutes), quorum (agencies attending)
DEFAULT_TYPES = (
    (
        "monthly_mam",
        "Monthly multi-agency meeting",
        "Monthly HHPU meeting with partner agencies.",
        120,
        120,
        3,
    ),
    ("daily_briefing", "Daily briefing", "Morning briefing of the unit (weekdays).", 15, 15, 0),
    ("case_conference", "Case conference", "Ad hoc multi-agency case discussion.", 60, 60, 2),
)


def upgrade() -> None:
    at = datetime.now(UTC)
    # offline (SQL rendered for a DBA): the database is not read; every type is inserted
    existing = (
        set()
        if context.is_offline_mode()
        else set(op.get_bind().execute(sa.select(meeting_type.c.id)).scalars())
    )
    rows = [
        {
            "id": type_id,
            "name": name,
            "description": description,
            "default_duration_minutes": duration,
            "agenda_limit_minutes": limit,
            "quorum_agencies": quorum,
            "enforce_quorum": False,
            "created_at": at,
        }
        for type_id, name, description, duration, limit, quorum in DEFAULT_TYPES
        if type_id not in existing
    ]
    if rows:
        op.bulk_insert(meeting_type, rows)


def downgrade() -> None:
    series = sa.table("mtg_series", sa.column("meeting_type_id", sa.String))
    meeting = sa.table("mtg_meeting", sa.column("meeting_type_id", sa.String))
    op.execute(
        meeting_type.delete()
        .where(meeting_type.c.id.in_([t[0] for t in DEFAULT_TYPES]))
        .where(meeting_type.c.id.not_in(sa.select(series.c.meeting_type_id)))
        .where(meeting_type.c.id.not_in(sa.select(meeting.c.meeting_type_id)))
    )
