"""search keys keyed by person and key

A person's search keys (10 to 30 rows, rewritten with their names) had a random surrogate id as
primary key, a unique (person_id, key) and an index on person_id as well as the one on key: four
indexes to maintain per row, one of them redundant. (person_id, key) is now the primary key, whose
index also serves the rewrite's delete by person; the id, the unique constraint and the person_id
index go. The downgrade gives every row a new random id again.

Revision ID: 3957c31992b5
Revises: 22493361ab9a
Create Date: 2026-12-01 00:12:34.970799
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3957c31992b5"
down_revision: str | None = "22493361ab9a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "case_person_search_key"
PK = "pk_case_person_search_key"


def upgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_person_search_key_person_id"))
        batch_op.drop_constraint(batch_op.f("uq_case_search_key_person_key"), type_="unique")
        batch_op.drop_constraint(PK, type_="primary")
        batch_op.drop_column("id")
        batch_op.create_primary_key(PK, ["person_id", "key"])


def downgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.add_column(sa.Column("id", sa.VARCHAR(length=32), nullable=True))
    random_hex = (
        "lower(hex(randomblob(16)))" if op.get_bind().dialect.name == "sqlite" else "md5(random()::text)"
    )
    op.execute(f"UPDATE {TABLE} SET id = {random_hex}")  # noqa: S608 - no input: constants only
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_constraint(PK, type_="primary")
        batch_op.alter_column("id", existing_type=sa.VARCHAR(length=32), nullable=False)
        batch_op.create_primary_key(PK, ["id"])
        batch_op.create_unique_constraint(batch_op.f("uq_case_search_key_person_key"), ["person_id", "key"])
        batch_op.create_index(batch_op.f("ix_case_person_search_key_person_id"), ["person_id"], unique=False)
