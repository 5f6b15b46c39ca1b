"""Assessments, their triggers and decisions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from case_service.models import (
    Assessment,
    AssessmentDecision,
    AssessmentTrigger,
)
from case_service.repository._base import page_of


def assessment(s: Session, assessment_id: str) -> Assessment | None:
    return s.get(Assessment, assessment_id)


def open_assessment(s: Session, person_id: str) -> Assessment | None:
    return s.exec(select(Assessment).where(Assessment.open_key == person_id)).first()


def triggers(s: Session, assessment_id: str) -> Sequence[AssessmentTrigger]:
    q = (
        select(AssessmentTrigger)
        .where(AssessmentTrigger.assessment_id == assessment_id)
        .order_by(col(AssessmentTrigger.received_at), col(AssessmentTrigger.id))
    )
    return s.exec(q).all()


def trigger(s: Session, assessment_id: str, source: str, ref: str) -> AssessmentTrigger | None:
    q = select(AssessmentTrigger).where(
        AssessmentTrigger.assessment_id == assessment_id,
        AssessmentTrigger.source == source,
        AssessmentTrigger.ref == ref,
    )
    return s.exec(q).first()


def open_triggers_by_ref(s: Session, source: str, ref: str) -> Sequence[AssessmentTrigger]:
    """The triggers from `source`/`ref` still counted on an open assessment."""
    q = (
        select(AssessmentTrigger)
        .join(Assessment, col(Assessment.id) == col(AssessmentTrigger.assessment_id))
        .where(
            AssessmentTrigger.source == source,
            AssessmentTrigger.ref == ref,
            col(AssessmentTrigger.withdrawn_at).is_(None),
            Assessment.status == "open",
        )
    )
    return s.exec(q).all()


def decisions(s: Session, assessment_id: str) -> Sequence[AssessmentDecision]:
    q = select(AssessmentDecision).where(AssessmentDecision.assessment_id == assessment_id)
    return s.exec(q.order_by(col(AssessmentDecision.at))).all()


def assessments(
    s: Session, *, status: str | None, person_id: str | None, limit: int, offset: int
) -> tuple[Sequence[Assessment], int]:
    q = select(Assessment)
    if status:
        q = q.where(Assessment.status == status)
    if person_id:
        q = q.where(Assessment.person_id == person_id)
    order = (col(Assessment.opened_at).desc(), col(Assessment.id))
    return page_of(s, q, *order, limit=limit, offset=offset)


def assessments_for_person(s: Session, person_id: str) -> Sequence[Assessment]:
    return s.exec(select(Assessment).where(Assessment.person_id == person_id)).all()


def assessments_opened_since(s: Session, since: datetime) -> Sequence[Assessment]:
    q = select(Assessment).where(col(Assessment.opened_at) >= since).order_by(col(Assessment.opened_at))
    return s.exec(q).all()
