"""audit hash chain, person reference, client correlation id; protection marks

Revision ID: b43b9887deb4
Revises: 9e8de2ead540
Create Date: 2026-11-29 17:55:23.023200
"""

from collections.abc import Sequence

from hhpu_shared import plumbing_schema

revision: str = "b43b9887deb4"
down_revision: str | None = "9e8de2ead540"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    plumbing_schema.upgrade_v2()


def downgrade() -> None:
    plumbing_schema.downgrade_v2()
