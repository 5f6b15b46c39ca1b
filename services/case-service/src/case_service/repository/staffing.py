"""Offender managers, their training and allocations."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from case_service.models import (
    Allocation,
    Manager,
    TrainingRecord,
)
from case_service.repository._base import page_of


def manager(s: Session, manager_id: str) -> Manager | None:
    return s.get(Manager, manager_id)


def manager_by_staff_id(s: Session, staff_id: str) -> Manager | None:
    return s.exec(select(Manager).where(Manager.staff_id == staff_id)).first()


def managers(s: Session) -> Sequence[Manager]:
    return s.exec(select(Manager).order_by(col(Manager.name), col(Manager.id))).all()


def managers_page(s: Session, *, limit: int, offset: int) -> tuple[Sequence[Manager], int]:
    return page_of(s, select(Manager), col(Manager.name), col(Manager.id), limit=limit, offset=offset)


def training(s: Session, manager_id: str | None = None) -> Sequence[TrainingRecord]:
    q = select(TrainingRecord)
    if manager_id:
        q = q.where(TrainingRecord.manager_id == manager_id)
    return s.exec(q.order_by(col(TrainingRecord.completed_on))).all()


def allocations(s: Session, case_id: str) -> Sequence[Allocation]:
    return s.exec(select(Allocation).where(Allocation.case_id == case_id).order_by(col(Allocation.at))).all()
