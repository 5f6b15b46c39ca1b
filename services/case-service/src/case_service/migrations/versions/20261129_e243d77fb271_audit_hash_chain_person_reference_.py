"""audit hash chain, person reference, client correlation id; protection marks

Revision ID: e243d77fb271
Revises: 5bf8b1bda444
Create Date: 2026-11-29 17:54:21.753146
"""

from collections.abc import Sequence

from hhpu_shared import plumbing_schema

revision: str = "e243d77fb271"
down_revision: str | None = "5bf8b1bda444"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    plumbing_schema.upgrade_v2()


def downgrade() -> None:
    plumbing_schema.downgrade_v2()
