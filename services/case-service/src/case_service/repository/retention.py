"""MoPI review and retention."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, col, func, select

from case_service.models import (
    Assessment,
    AssessmentTrigger,
    Person,
    RetentionReview,
    RiskAssessment,
)
from case_service.repository._base import page_of


def triggers_of_person(s: Session, person_id: str) -> Sequence[AssessmentTrigger]:
    """The triggers of every assessment about the person (one query)."""
    q = (
        select(AssessmentTrigger)
        .join(Assessment, col(Assessment.id) == col(AssessmentTrigger.assessment_id))
        .where(Assessment.person_id == person_id)
    )
    return s.exec(q).all()


def risk_tools_of(s: Session, case_ids: Sequence[str]) -> set[str]:
    if not case_ids:
        return set()
    q = select(RiskAssessment.tool).where(col(RiskAssessment.case_id).in_(list(case_ids))).distinct()
    return set(s.exec(q).all())


def person_for_update(s: Session, person_id: str) -> Person | None:
    """The person, locked until the transaction ends (PostgreSQL), so two decisions take turns."""
    return s.get(Person, person_id, with_for_update=True)


def review_queue(
    s: Session, *, due_before: date, groups: Sequence[int], limit: int, offset: int
) -> tuple[Sequence[Person], int]:
    """People (not merged, not disposed of) whose review is due on or before `due_before`, soonest first."""
    q = select(Person).where(
        col(Person.merged_into).is_(None),
        col(Person.mopi_review_on).is_not(None),
        col(Person.mopi_review_on) <= due_before,
    )
    if groups:
        q = q.where(col(Person.mopi_group).in_(list(groups)))
    return page_of(s, q, col(Person.mopi_review_on), col(Person.id), limit=limit, offset=offset)


def reviews_overdue_by_group(s: Session, today: date) -> dict[int, int]:
    """How many people's review date has passed, by group (for the dashboards)."""
    q = (
        select(Person.mopi_group, func.count())
        .where(
            col(Person.merged_into).is_(None),
            col(Person.mopi_review_on).is_not(None),
            col(Person.mopi_review_on) < today,
        )
        .group_by(col(Person.mopi_group))
    )
    return {int(g): int(n) for g, n in s.exec(q).all()}


def retention_reviews(
    s: Session, person_id: str, *, limit: int, offset: int
) -> tuple[Sequence[RetentionReview], int]:
    q = select(RetentionReview).where(RetentionReview.person_id == person_id)
    return page_of(s, q, col(RetentionReview.at), col(RetentionReview.id), limit=limit, offset=offset)
