"""People: by id, records id or identifier, their history, the people list."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from case_service.models import (
    Person,
    PersonHistory,
    PersonIdentifier,
)
from case_service.repository._base import page_of


def person(s: Session, person_id: str) -> Person | None:
    return s.get(Person, person_id)


def person_by_records_id(s: Session, records_id: str) -> Person | None:
    return s.exec(select(Person).where(Person.records_id == records_id)).first()


def person_by_identifier(s: Session, kind: str, value: str) -> Person | None:
    ident = s.exec(
        select(PersonIdentifier).where(PersonIdentifier.kind == kind, PersonIdentifier.value == value)
    ).first()
    return s.get(Person, ident.person_id) if ident else None


def identifiers(s: Session, person_id: str) -> Sequence[PersonIdentifier]:
    return s.exec(select(PersonIdentifier).where(PersonIdentifier.person_id == person_id)).all()


def identifier(s: Session, kind: str, value: str) -> PersonIdentifier | None:
    return s.exec(
        select(PersonIdentifier).where(PersonIdentifier.kind == kind, PersonIdentifier.value == value)
    ).first()


def person_history(s: Session, person_id: str) -> Sequence[PersonHistory]:
    q = select(PersonHistory).where(PersonHistory.person_id == person_id).order_by(col(PersonHistory.at))
    return s.exec(q).all()


def people(
    s: Session, *, limit: int, offset: int, include_merged: bool = False
) -> tuple[Sequence[Person], int]:
    q = select(Person)
    if not include_merged:
        q = q.where(col(Person.merged_into).is_(None))
    return page_of(s, q, col(Person.created_at), col(Person.id), limit=limit, offset=offset)
