"""the audit log is chained at commit, in commit order (audit_chain)

Writers took the chain's advisory lock before inserting their audit entries and held it through their
COMMIT's round trip, which serialised every writing transaction of the database. Each entry now has
its own hash (row_hash) and a deferred trigger links a transaction's entries in audit_chain when it
commits (PostgreSQL; on SQLite the writer links them). Step 2's chain is checked first and a broken
one stops the migration. Plumbing step 4, written once in hhpu_shared.plumbing_schema.

Revision ID: 22493361ab9a
Revises: 13cadd7e1a35
Create Date: 2026-11-30 22:30:00.000000
"""

from collections.abc import Sequence

from hhpu_shared import plumbing_schema

revision: str = "22493361ab9a"
down_revision: str | None = "13cadd7e1a35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    plumbing_schema.upgrade_v4()


def downgrade() -> None:
    plumbing_schema.downgrade_v4()
