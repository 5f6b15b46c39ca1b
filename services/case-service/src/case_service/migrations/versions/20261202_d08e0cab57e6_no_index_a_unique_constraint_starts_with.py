"""no index a unique constraint starts with

Dropped: case_assessment_trigger's index on assessment_id: uq_case_trigger_source_ref is
(assessment_id, source, ref).
A lookup by that column is served by the unique constraint's index, which starts with it; the plain
index was one more B-tree to write for every row inserted (a referral, a trigger, an agenda item, a
ranking run's every entry) and to keep in memory. The downgrade builds it again.

Revision ID: d08e0cab57e6
Revises: aebfd445c4d2
Create Date: 2026-12-02 14:14:40.012215
"""

from collections.abc import Sequence

from alembic import op

revision: str = "d08e0cab57e6"
down_revision: str | None = "aebfd445c4d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_assessment_trigger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_assessment_trigger_assessment_id"))


def downgrade() -> None:
    with op.batch_alter_table("case_assessment_trigger", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_assessment_trigger_assessment_id"), ["assessment_id"], unique=False
        )
