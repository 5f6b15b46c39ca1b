"""Subject access and erasure: rows by a column's values, deletes, and the people references name."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, delete, select

from case_service.models import Person, PersonIdentifier


def rows_in(s: Session, model: Any, column: Any, values: list[str]) -> list[Any]:
    """The rows of `model` whose `column` holds one of `values`."""
    return list(s.exec(select(model).where(col(column).in_(values))).all())


def delete_in(s: Session, model: Any, column: Any, values: list[str]) -> int:
    """Delete the rows of `model` whose `column` holds one of `values`; how many went."""
    return int(s.exec(delete(model).where(col(column).in_(values))).rowcount)


def people_named_by(s: Session, refs: list[str]) -> list[Person]:
    """The people any of `refs` names: their person id, records id or an identifier's value."""
    ids = set(refs) | {i.person_id for i in rows_in(s, PersonIdentifier, PersonIdentifier.value, refs)}
    query = select(Person).where(col(Person.id).in_(ids) | col(Person.records_id).in_(refs))
    return list(s.exec(query).all())
