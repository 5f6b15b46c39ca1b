"""no index a unique constraint starts with

Dropped: rank_run_entry's index on run_id: uq_rank_entry_rank is (run_id, rank) and uq_rank_entry_person
(run_id, person_ref).
A lookup by that column is served by the unique constraint's index, which starts with it; the plain
index was one more B-tree to write for every row inserted (a referral, a trigger, an agenda item, a
ranking run's every entry) and to keep in memory. The downgrade builds it again.

Revision ID: e9eb36a896b0
Revises: f4b0e7ca7232
Create Date: 2026-12-02 14:14:42.870955
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e9eb36a896b0"
down_revision: str | None = "f4b0e7ca7232"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rank_run_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rank_run_entry_run_id"))


def downgrade() -> None:
    with op.batch_alter_table("rank_run_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rank_run_entry_run_id"), ["run_id"], unique=False)
