"""no index a unique constraint starts with

Dropped: ref_referral's index on agency_id: uq_ref_referral_partner_ref is (agency_id, partner_reference).
A lookup by that column is served by the unique constraint's index, which starts with it; the plain
index was one more B-tree to write for every row inserted (a referral, a trigger, an agenda item, a
ranking run's every entry) and to keep in memory. The downgrade builds it again.

Revision ID: ca893590a63a
Revises: 5193fd3bee26
Create Date: 2026-12-02 14:14:38.394050
"""

from collections.abc import Sequence

from alembic import op

revision: str = "ca893590a63a"
down_revision: str | None = "5193fd3bee26"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ref_referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ref_referral_agency_id"))


def downgrade() -> None:
    with op.batch_alter_table("ref_referral", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ref_referral_agency_id"), ["agency_id"], unique=False)
