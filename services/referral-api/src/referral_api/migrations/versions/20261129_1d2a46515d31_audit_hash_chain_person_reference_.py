"""audit hash chain, person reference, client correlation id; protection marks

Revision ID: 1d2a46515d31
Revises: bf49e80e4e2c
Create Date: 2026-11-29 17:55:42.062215
"""

from collections.abc import Sequence

from hhpu_shared import plumbing_schema

revision: str = "1d2a46515d31"
down_revision: str | None = "bf49e80e4e2c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    plumbing_schema.upgrade_v2()


def downgrade() -> None:
    plumbing_schema.downgrade_v2()
