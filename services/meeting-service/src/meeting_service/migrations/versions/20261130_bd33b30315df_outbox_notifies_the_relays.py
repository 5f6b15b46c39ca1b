"""outbox notifies the relays of every process on commit (PostgreSQL)

The relays polled the outbox every 0.05 s in distributed mode to see rows committed by the service's
other process; a statement-level trigger now notifies them (LISTEN/NOTIFY), so the poll is only a
safety net. Plumbing step 3, written once in hhpu_shared.plumbing_schema.

Revision ID: bd33b30315df
Revises: a3c6ef6b2303
Create Date: 2026-11-30 15:40:00.000000
"""

from collections.abc import Sequence

from hhpu_shared import plumbing_schema

revision: str = "bd33b30315df"
down_revision: str | None = "a3c6ef6b2303"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    plumbing_schema.upgrade_v3()


def downgrade() -> None:
    plumbing_schema.downgrade_v3()
