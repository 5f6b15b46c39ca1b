"""audit hash chain, person reference, client correlation id; protection marks

Revision ID: a3c6ef6b2303
Revises: 5d1e7c40b2a8
Create Date: 2026-11-29 17:54:55.200818
"""

from collections.abc import Sequence

from hhpu_shared import plumbing_schema

revision: str = "a3c6ef6b2303"
down_revision: str | None = "5d1e7c40b2a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    plumbing_schema.upgrade_v2()


def downgrade() -> None:
    plumbing_schema.downgrade_v2()
