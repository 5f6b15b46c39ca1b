"""MoPI columns keep no server default (the models give them)

The MoPI revision (7b4b6a10f10e) added `mopi_group` and `mopi_basis` with server defaults to
fill the existing rows and left them in place; the models have none, which the migration check
now compares (``compare_server_default``).

Revision ID: 03aea70f5768
Revises: 7b4b6a10f10e
Create Date: 2026-11-30 02:54:53.559228
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "03aea70f5768"
down_revision: str | None = "7b4b6a10f10e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case_person", schema=None) as batch_op:
        batch_op.alter_column(
            "mopi_group", existing_type=sa.Integer(), server_default=None, existing_nullable=False
        )
        batch_op.alter_column(
            "mopi_basis", existing_type=sa.JSON(), server_default=None, existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("case_person", schema=None) as batch_op:
        batch_op.alter_column(
            "mopi_basis", existing_type=sa.JSON(), server_default="[]", existing_nullable=False
        )
        batch_op.alter_column(
            "mopi_group", existing_type=sa.Integer(), server_default="4", existing_nullable=False
        )
