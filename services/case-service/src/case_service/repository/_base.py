"""What the repository modules share: one page of a query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlmodel import Session, func, select
from sqlmodel.sql.expression import SelectOfScalar

T = TypeVar("T")


def page_of(
    s: Session, q: SelectOfScalar[T], *order: Any, limit: int, offset: int
) -> tuple[Sequence[T], int]:
    """One page of `q` in a stable order, and how many rows match in all."""
    total = s.exec(select(func.count()).select_from(q.subquery())).one()
    return s.exec(q.order_by(*order).offset(offset).limit(limit)).all(), int(total)
