"""no index a unique constraint starts with

Dropped: mtg_agenda_item's and mtg_invitation's indexes on meeting_id: uq_mtg_agenda_item_key is (meeting_id,
item_key), uq_mtg_invitation_agency (meeting_id, agency_id).
A lookup by that column is served by the unique constraint's index, which starts with it; the plain
index was one more B-tree to write for every row inserted (a referral, a trigger, an agenda item, a
ranking run's every entry) and to keep in memory. The downgrade builds it again.

Revision ID: c055f5abcd67
Revises: 88d9a5d1ff3c
Create Date: 2026-12-02 14:14:41.520333
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c055f5abcd67"
down_revision: str | None = "88d9a5d1ff3c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mtg_agenda_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mtg_agenda_item_meeting_id"))

    with op.batch_alter_table("mtg_invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mtg_invitation_meeting_id"))


def downgrade() -> None:
    with op.batch_alter_table("mtg_invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mtg_invitation_meeting_id"), ["meeting_id"], unique=False)

    with op.batch_alter_table("mtg_agenda_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mtg_agenda_item_meeting_id"), ["meeting_id"], unique=False)
