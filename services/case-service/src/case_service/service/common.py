"""Helpers shared by the service modules: auditing, race-safe inserts, today's date (the unit's clock)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from hhpu_shared.audit import AuditOperation
from hhpu_shared.clock import today as today  # the unit's date (Europe/London), as everywhere
from hhpu_shared.errors import NotFound
from hhpu_shared.events.envelope import SubjectRef
from hhpu_shared.uow import UnitOfWork
from sqlmodel import SQLModel

T = TypeVar("T", bound=SQLModel)

# The people each unit of work created: nothing can refer to them yet (a mark, an open assessment, an
# active case), so reading for those is skipped.
_CREATED: WeakKeyDictionary[UnitOfWork, set[str]] = WeakKeyDictionary()


def actor(uow: UnitOfWork) -> str:
    return str(uow.principal.subject)


def person_ref(person_id: str) -> SubjectRef:
    return SubjectRef(type="person", id=person_id)


def person_of(uow: UnitOfWork, subject_type: str, subject_id: str) -> str | None:
    """The person a case or an assessment is about (the audit's person reference here)."""
    from case_service import repository as repo

    if subject_type == "person":
        return subject_id
    row: Any = None
    if subject_type == "case":
        row = repo.case(uow.session, subject_id)
    elif subject_type == "assessment":
        row = repo.assessment(uow.session, subject_id)
    return getattr(row, "person_id", None)


def _audit(
    op: AuditOperation, uow: UnitOfWork, subject_type: str, subject_id: str, justification: str, detail: Any
) -> None:
    uow.audit(
        op,
        subject_type=subject_type,
        subject_id=subject_id,
        justification=justification,
        detail=detail or None,
        person_ref=(detail or {}).get("person_id") or person_of(uow, subject_type, subject_id),
    )


def case_ids_in(value: Any) -> list[str]:
    """Every `case_id` in a report's nested dictionaries and lists, in order, once each."""
    found: list[str] = []
    if isinstance(value, dict):
        if isinstance(value.get("case_id"), str):
            found.append(value["case_id"])
        for v in value.values():
            found += case_ids_in(v)
    elif isinstance(value, list):
        for v in value:
            found += case_ids_in(v)
    return list(dict.fromkeys(found))


def consult(uow: UnitOfWork, subject_type: str, subject_id: str, justification: str, **detail: Any) -> None:
    _audit(AuditOperation.CONSULT, uow, subject_type, subject_id, justification, detail)


def collect(uow: UnitOfWork, subject_type: str, subject_id: str, justification: str, **detail: Any) -> None:
    _audit(AuditOperation.COLLECT, uow, subject_type, subject_id, justification, detail)


def alter(uow: UnitOfWork, subject_type: str, subject_id: str, justification: str, **detail: Any) -> None:
    _audit(AuditOperation.ALTER, uow, subject_type, subject_id, justification, detail)


def insert_or_existing(
    uow: UnitOfWork, row: T, existing: Callable[[], T | None], conflict: Sequence[str]
) -> tuple[T, bool]:
    """Insert `row` unless a row with the same `conflict` columns (a unique constraint) exists; then
    return the row that won instead.

    Concurrent or redelivered events cannot create a second open assessment, person or case: the
    database's unique constraint decides, and the loser joins the winner's row
    (`repository.insert_or_existing`). The inserted `row` joins the session as a persistent object.
    """
    from case_service import repository as repo

    return repo.insert_or_existing(uow.session, row, existing, conflict)


def note_created(uow: UnitOfWork, person_id: str) -> None:
    """`person_id` was inserted by this unit of work."""
    _CREATED.setdefault(uow, set()).add(person_id)


def created_here(uow: UnitOfWork, person_id: str) -> bool:
    """Whether this unit of work inserted the person (so no mark, assessment or case names them
    yet: their id is new, and another transaction cannot refer to an uncommitted row)."""
    return person_id in _CREATED.get(uow, ())


def get_or_404(row: T | None, what: str) -> T:
    if row is None:
        raise NotFound(f"{what} not found")
    return row
