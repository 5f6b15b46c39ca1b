"""outbox notifies the relays of every process on commit (PostgreSQL)

The relays polled the outbox every 0.05 s in distributed mode to see rows committed by the service's
other process; a statement-level trigger now notifies them (LISTEN/NOTIFY), so the poll is only a
safety net. Plumbing step 3, written once in hhpu_shared.plumbing_schema.

Revision ID: 13cadd7e1a35
Revises: ac7a8e7ce91d
Create Date: 2026-11-30 15:40:00.000000
"""

from collections.abc import Sequence

from hhpu_shared import plumbing_schema

revision: str = "13cadd7e1a35"
down_revision: str | None = "ac7a8e7ce91d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    plumbing_schema.upgrade_v3()


def downgrade() -> None:
    plumbing_schema.downgrade_v3()
