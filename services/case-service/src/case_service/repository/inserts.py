"""Race-safe inserts: the database's unique constraint decides which of two concurrent rows wins."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from hhpu_shared.db import insert_if_absent
from sqlalchemy import insert
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session, SQLModel

M = TypeVar("M", bound=SQLModel)


def insert_or_existing(
    s: Session, row: M, existing: Callable[[], M | None], conflict: Sequence[str]
) -> tuple[M, bool]:
    """Insert `row` unless a row with the same `conflict` columns (a unique constraint) exists; then
    return the row that won instead.

    One ``INSERT ... ON CONFLICT (conflict) DO NOTHING RETURNING`` and no savepoint (on PostgreSQL a
    concurrent insert of the same values waits for the other transaction first); the winner is read
    only on a conflict. The inserted `row` joins the session as a loaded, persistent object.
    """
    s.flush()  # pending rows go first: `row` may refer to them (its person, its assessment)
    state = sa_inspect(row)
    mapper = state.mapper
    values = {p.columns[0].key: state.dict[p.key] for p in mapper.column_attrs if p.key in state.dict}
    table = mapper.local_table
    stmt = insert_if_absent(table, tuple(conflict), s.get_bind().dialect.name)
    if s.execute(stmt, values).first() is None:
        winner = existing()
        if winner is not None:
            return winner, False
        # The conflicting row is not one `existing` finds (or it is gone): a plain insert raises the
        # IntegrityError (or succeeds).
        s.execute(insert(table), values)
    make_transient_to_detached(row)
    s.add(row)
    return row, True
