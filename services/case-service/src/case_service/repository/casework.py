"""Cases and their status changes."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from case_service.models import (
    Case,
    CaseStatusChange,
)
from case_service.repository._base import page_of


def case(s: Session, case_id: str) -> Case | None:
    return s.get(Case, case_id)


def active_case(s: Session, person_id: str) -> Case | None:
    return s.exec(select(Case).where(Case.active_key == person_id)).first()


def cases_for_person(s: Session, person_id: str) -> Sequence[Case]:
    return s.exec(select(Case).where(Case.person_id == person_id).order_by(col(Case.created_at))).all()


def cases(
    s: Session,
    *,
    status: str | None = None,
    cohort: str | None = None,
    manager_id: str | None = None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Case], int]:
    q = select(Case)
    if status:
        q = q.where(Case.status == status)
    if cohort:
        q = q.where(Case.cohort == cohort)
    if manager_id:
        q = q.where(Case.manager_id == manager_id)
    return page_of(s, q, col(Case.created_at), col(Case.id), limit=limit, offset=offset)


def managed_cases(s: Session, manager_id: str | None = None) -> Sequence[Case]:
    q = select(Case).where(Case.status == "managed")
    if manager_id:
        q = q.where(Case.manager_id == manager_id)
    return s.exec(q.order_by(col(Case.created_at), col(Case.id))).all()


def adopted_cases(s: Session) -> Sequence[Case]:
    return s.exec(select(Case).where(col(Case.adopted_on).is_not(None))).all()


def status_changes(s: Session, case_id: str) -> Sequence[CaseStatusChange]:
    q = select(CaseStatusChange).where(CaseStatusChange.case_id == case_id)
    return s.exec(q.order_by(col(CaseStatusChange.at), col(CaseStatusChange.id))).all()
