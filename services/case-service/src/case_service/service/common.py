"""Helpers shared by the service modules: auditing, race-safe inserts, today's date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import NotFound
from hhpu_shared.events.envelope import SubjectRef
from hhpu_shared.uow import UnitOfWork
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

T = TypeVar("T", bound=SQLModel)


def today() -> date:
    return datetime.now(UTC).date()


def actor(uow: UnitOfWork) -> str:
    return str(uow.principal.subject)


def person_ref(person_id: str) -> SubjectRef:
    return SubjectRef(type="person", id=person_id)


def _audit(
    op: AuditOperation, uow: UnitOfWork, subject_type: str, subject_id: str, justification: str, detail: Any
) -> None:
    uow.audit(
        op,
        subject_type=subject_type,
        subject_id=subject_id,
        justification=justification,
        detail=detail or None,
    )


def consult(uow: UnitOfWork, subject_type: str, subject_id: str, justification: str, **detail: Any) -> None:
    _audit(AuditOperation.CONSULT, uow, subject_type, subject_id, justification, detail)


def collect(uow: UnitOfWork, subject_type: str, subject_id: str, justification: str, **detail: Any) -> None:
    _audit(AuditOperation.COLLECT, uow, subject_type, subject_id, justification, detail)


def alter(uow: UnitOfWork, subject_type: str, subject_id: str, justification: str, **detail: Any) -> None:
    _audit(AuditOperation.ALTER, uow, subject_type, subject_id, justification, detail)


def insert_or_existing(uow: UnitOfWork, row: T, existing: Callable[[], T | None]) -> tuple[T, bool]:
    """Insert `row` in a savepoint; on a uniqueness conflict return the row that won instead.

    Concurrent or redelivered events cannot create a second open assessment, person or case:
    the database's unique constraint decides, and the loser joins the winner's row.
    """
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
            uow.session.flush()
    except IntegrityError:
        winner = existing()
        if winner is None:
            raise
        return winner, False
    return row, True


def get_or_404(row: T | None, what: str) -> T:
    if row is None:
        raise NotFound(f"{what} not found")
    return row
