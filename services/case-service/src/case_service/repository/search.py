"""Person search: the pool a search scores, and the search keys kept in step with names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from hhpu_shared.db import insert_rows
from hhpu_shared.deferred import defer_rows
from sqlalchemy import Connection, Table, delete, event, union
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from case_service.domain.search import name_keys
from case_service.models import (
    Person,
    PersonIdentifier,
    PersonSearchKey,
)


def search_pool(
    s: Session, *, keys: set[str], identifiers: set[str], date_of_birth: date | None
) -> tuple[Sequence[Any], Sequence[PersonIdentifier]]:
    """The people a person search scores (id, names, aliases, date of birth and records id: enough to
    score, not whole records) and their identifiers: not merged, and sharing a name key, an
    identifier or the date of birth with the query. The database picks them (indexed lookups); the
    query's values are a few bound parameters, the people found a subquery, never a list."""
    found = []
    if keys:
        found.append(select(PersonSearchKey.person_id).where(col(PersonSearchKey.key).in_(sorted(keys))))
    if identifiers:
        ident = col(PersonIdentifier.search_value).in_(sorted(identifiers))
        found.append(select(PersonIdentifier.person_id).where(ident))
    if date_of_birth is not None:
        found.append(select(Person.id).where(Person.date_of_birth == date_of_birth))
    if not found:
        return [], []
    ids = select(Person.id).where(col(Person.merged_into).is_(None), col(Person.id).in_(union(*found)))
    fields = [
        col(f)
        for f in (Person.id, Person.given_name, Person.middle_names, Person.family_name, Person.aliases)
    ]
    people_q = sa_select(*fields, col(Person.date_of_birth), col(Person.records_id))
    people_q = people_q.where(col(Person.id).in_(ids))
    idents_q = select(PersonIdentifier).where(col(PersonIdentifier.person_id).in_(ids))
    return s.execute(people_q.order_by(col(Person.id))).all(), s.exec(idents_q).all()


_KEYS: Table = PersonSearchKey.__table__  # type: ignore[attr-defined]


def write_search_keys(conn: Connection, person_id: str, keys: set[str]) -> None:
    """Replace the person's search keys (on the flush's connection: see `_names_changed`)."""
    conn.execute(delete(_KEYS).where(_KEYS.c.person_id == person_id))
    # One statement on PostgreSQL (an executemany sends each of a person's 10 to 30 keys on its own).
    insert_rows(conn, _KEYS, _key_rows(person_id, keys))


def add_search_keys(session: Session, person_id: str, keys: set[str]) -> None:
    """A new person's search keys (they have none to replace), written at the commit with every other
    new person's of the transaction in one INSERT (``hhpu_shared.deferred``; anything that reads or
    changes the keys before then writes them first)."""
    defer_rows(session, _KEYS, _key_rows(person_id, keys))


def _key_rows(person_id: str, keys: set[str]) -> list[dict[str, str]]:
    return [{"person_id": person_id, "key": k} for k in sorted(keys)]


NAME_FIELDS = ("given_name", "middle_names", "family_name", "aliases")


def person_names(p: Any) -> list[str]:
    """Full name first, then each alias (what a search compares)."""
    return [" ".join(n for n in (p.given_name, p.middle_names, p.family_name) if n), *p.aliases]


@event.listens_for(Person, "after_update")
def _names_changed(_mapper: Any, conn: Connection, target: Person) -> None:
    """Whenever a person's names change, however (an update, details added, an erasure), their
    search keys are rewritten in the same flush, so a search never finds a name no longer held."""
    state = sa_inspect(target)
    if any(state.attrs[f].history.has_changes() for f in NAME_FIELDS):
        write_search_keys(conn, target.id, name_keys(person_names(target)))
