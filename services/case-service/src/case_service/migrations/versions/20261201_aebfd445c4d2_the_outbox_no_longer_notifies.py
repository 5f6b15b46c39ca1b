"""the outbox no longer notifies (its NOTIFY trigger goes)

A transaction that notifies holds PostgreSQL's instance-wide notify lock from before its commit record
until the commit is done, so with a trigger on every outbox INSERT every writing transaction of every
service database on the instance committed one at a time. The relays are woken by their own
process's commits and retry soon when another replica's relay holds the outbox. Works both ways with
the release before (its relays fall back to their poll for other processes' rows): a rolling
upgrade. Plumbing step 5, written once in hhpu_shared.plumbing_schema.

Revision ID: aebfd445c4d2
Revises: 3957c31992b5
Create Date: 2026-12-01 02:45:00.000000
"""

from collections.abc import Sequence

from hhpu_shared import plumbing_schema

revision: str = "aebfd445c4d2"
down_revision: str | None = "3957c31992b5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    plumbing_schema.upgrade_v5()


def downgrade() -> None:
    plumbing_schema.downgrade_v5()
