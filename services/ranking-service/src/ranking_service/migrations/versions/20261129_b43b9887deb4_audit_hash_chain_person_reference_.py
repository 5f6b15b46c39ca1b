"""audit hash chain, person reference, client correlation id; protection marks

Revision ID: b43b9887deb4
Revises: 9e8de2ead540
Create Date: 2026-11-29 17:55:23.023200
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from hhpu_shared.audit import (
    GENESIS,
    chain_existing_rows,
    install_append_only_guard,
    remove_append_only_guard,
)

revision: str = "b43b9887deb4"
down_revision: str | None = "9e8de2ead540"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "protection_mark",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("decision_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protection_mark")),
        sa.UniqueConstraint("person_key", name=op.f("uq_protection_mark_person_key")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_ref", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("client_correlation_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=GENESIS)
        )
        batch_op.add_column(
            sa.Column("entry_hash", sa.String(length=64), nullable=False, server_default=GENESIS)
        )
        batch_op.create_index(batch_op.f("ix_audit_log_person_ref"), ["person_ref"], unique=False)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", server_default=None)
        batch_op.alter_column("entry_hash", server_default=None)
    # Rows written before the chain existed are linked in id order; then the log is append-only.
    conn = op.get_bind()
    chain_existing_rows(conn)
    install_append_only_guard(conn)


def downgrade() -> None:
    remove_append_only_guard(op.get_bind())
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_person_ref"))
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("client_correlation_id")
        batch_op.drop_column("person_ref")

    op.drop_table("protection_mark")
