"""The plumbing tables' schema history, written once: every service's revisions call these steps.

Every service database holds the same plumbing tables besides its own (the outbox, the inbox, the
audit log and the protection marks; :func:`hhpu_shared.migrations.plumbing_tables`). Their schema
changes are written here, one pair of functions per step, and each service's revision of that step
calls them, so the four histories cannot drift apart and the next change is written once:

1. :func:`create_v1` / :func:`drop_v1`: outbox, inbox and audit log as the first revisions made them;
2. :func:`upgrade_v2` / :func:`downgrade_v2`: the audit log's hash chain, person reference and client
   correlation id, and the protection marks;
3. :func:`upgrade_v3` / :func:`downgrade_v3`: on PostgreSQL, the outbox notifies the relays of every
   process when rows are committed to it (:mod:`hhpu_shared.messaging.outbox_notify`);
4. :func:`upgrade_v4` / :func:`downgrade_v4`: the audit log is chained at commit, in commit order,
   in ``audit_chain`` (:mod:`hhpu_shared.audit_schema`);
5. :func:`upgrade_v5` / :func:`downgrade_v5`: step 3 undone: the outbox no longer notifies (a
   transaction that notifies holds PostgreSQL's instance-wide notify lock through its commit, so
   every writing transaction of every service database on the instance committed one at a time).

A step is history: once released it never changes (a later change is a new step). Each function runs
inside an Alembic revision (it uses :data:`alembic.op`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hhpu_shared.audit import GENESIS
from hhpu_shared.audit_schema import (
    chain_existing_rows,
    install_append_only_guard,
    install_chain_trigger,
    link_existing_rows,
    remove_append_only_guard,
    remove_chain_trigger,
)
from hhpu_shared.messaging.outbox_notify import install_outbox_notify, remove_outbox_notify

_PENDING = sa.text("published_at IS NULL")


def create_v1() -> None:
    """Step 1: the outbox, the inbox and the audit log (a service's initial schema)."""
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("actor_kind", sa.String(length=32), nullable=False),
        sa.Column("actor_agency", sa.String(length=64), nullable=True),
        sa.Column("subject_type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=128), nullable=False),
        sa.Column("justification", sa.String(length=500), nullable=False),
        sa.Column("recipient", sa.String(length=128), nullable=True),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_operation"), ["operation"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "inbox",
        sa.Column("consumer_group", sa.String(length=128), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=128), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer_group", "event_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "outbox",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("aggregatetype", sa.String(length=64), nullable=False),
        sa.Column("aggregateid", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        sa.Column("topic", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_id"), ["id"], unique=True)
        batch_op.create_index(
            "ix_outbox_pending", ["seq"], unique=False, postgresql_where=_PENDING, sqlite_where=_PENDING
        )


def drop_v1() -> None:
    """Undo step 1."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending", postgresql_where=_PENDING, sqlite_where=_PENDING)
        batch_op.drop_index(batch_op.f("ix_outbox_id"))
    op.drop_table("outbox")
    op.drop_table("inbox")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_subject_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_operation"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))
    op.drop_table("audit_log")


def upgrade_v2() -> None:
    """Step 2: the protection marks; the audit log's person reference, client correlation id and hash
    chain. Rows written before the chain existed are linked in id order; then the log is append-only."""
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
    conn = op.get_bind()
    chain_existing_rows(conn)
    install_append_only_guard(conn)


def downgrade_v2() -> None:
    """Undo step 2."""
    remove_append_only_guard(op.get_bind())
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_person_ref"))
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("client_correlation_id")
        batch_op.drop_column("person_ref")
    op.drop_table("protection_mark")


def upgrade_v3() -> None:
    """Step 3: on PostgreSQL, a committed INSERT into the outbox notifies the relays of every process
    (LISTEN/NOTIFY), so they need not poll often. Nothing on SQLite (one process runs the relay)."""
    install_outbox_notify(op.get_bind())


def downgrade_v3() -> None:
    """Undo step 3."""
    remove_outbox_notify(op.get_bind())


def upgrade_v4() -> None:
    """Step 4: every audit entry gets its own hash (`row_hash`) and its link moves to `audit_chain`,
    made at commit in commit order (on PostgreSQL by a deferred trigger, so no writer holds the chain's
    lock across a round trip). Step 2's chain is checked first: a broken chain stops the migration."""
    op.create_table(
        "audit_chain",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_audit_chain_entry_id")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    remove_append_only_guard(conn)
    link_existing_rows(conn)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("row_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
    install_append_only_guard(conn)
    install_chain_trigger(conn)


def downgrade_v4() -> None:
    """Undo step 4: the links go back into `audit_log`, recomputed in id order as step 2 made them."""
    conn = op.get_bind()
    remove_chain_trigger(conn)
    remove_append_only_guard(conn)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=GENESIS)
        )
        batch_op.add_column(
            sa.Column("entry_hash", sa.String(length=64), nullable=False, server_default=GENESIS)
        )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", server_default=None)
        batch_op.alter_column("entry_hash", server_default=None)
        batch_op.drop_column("row_hash")
    chain_existing_rows(conn)
    op.drop_table("audit_chain")
    install_append_only_guard(conn)


def upgrade_v5() -> None:
    """Step 5: the outbox's NOTIFY trigger goes (PostgreSQL). PostgreSQL serialises the commits of
    every transaction that has notified, instance-wide (an exclusive lock on "database 0" held from
    before the commit record until it is flushed), so with a trigger on every outbox INSERT all
    writing transactions of all four service databases committed one after the other. The relays
    are woken by their own process's commits and retry soon when another replica's relay holds the
    outbox (:mod:`hhpu_shared.messaging.relay`). Processes of an older release, which listen for
    the notification, fall back to their poll."""
    remove_outbox_notify(op.get_bind())


def downgrade_v5() -> None:
    """Undo step 5 (the trigger of step 3 again)."""
    install_outbox_notify(op.get_bind())
