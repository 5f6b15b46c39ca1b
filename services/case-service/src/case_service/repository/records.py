"""Risk assessments, case notes and interventions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from case_service.models import (
    CaseNote,
    Intervention,
    RiskAssessment,
)
from case_service.repository._base import page_of

_RISK_ORDER = (col(RiskAssessment.assessed_on), col(RiskAssessment.recorded_at), col(RiskAssessment.id))


def risk_history(s: Session, case_id: str, tool: str | None = None) -> Sequence[RiskAssessment]:
    q = select(RiskAssessment).where(RiskAssessment.case_id == case_id)
    if tool:
        q = q.where(RiskAssessment.tool == tool)
    return s.exec(q.order_by(*_RISK_ORDER)).all()


def risk_page(s: Session, case_id: str, *, limit: int, offset: int) -> tuple[Sequence[RiskAssessment], int]:
    q = select(RiskAssessment).where(RiskAssessment.case_id == case_id)
    return page_of(s, q, *_RISK_ORDER, limit=limit, offset=offset)


def all_risk_assessments(s: Session) -> Sequence[RiskAssessment]:
    return s.exec(select(RiskAssessment)).all()


def note(s: Session, note_id: str) -> CaseNote | None:
    return s.get(CaseNote, note_id)


def notes(s: Session, case_id: str, *, limit: int, offset: int) -> tuple[Sequence[CaseNote], int]:
    q = select(CaseNote).where(CaseNote.case_id == case_id)
    return page_of(s, q, col(CaseNote.at), col(CaseNote.id), limit=limit, offset=offset)


def corrections_of(s: Session, note_ids: Sequence[str]) -> Sequence[CaseNote]:
    """The notes that correct any of `note_ids`, in order."""
    if not note_ids:
        return []
    q = select(CaseNote).where(col(CaseNote.corrects_note_id).in_(list(note_ids)))
    return s.exec(q.order_by(col(CaseNote.at), col(CaseNote.id))).all()


def intervention(s: Session, intervention_id: str) -> Intervention | None:
    return s.get(Intervention, intervention_id)


def interventions(s: Session, case_id: str | None = None) -> Sequence[Intervention]:
    q = select(Intervention)
    if case_id:
        q = q.where(Intervention.case_id == case_id)
    return s.exec(q.order_by(col(Intervention.recorded_at))).all()


def case_interventions(
    s: Session, case_id: str, *, limit: int, offset: int
) -> tuple[Sequence[Intervention], int]:
    q = select(Intervention).where(Intervention.case_id == case_id)
    return page_of(s, q, col(Intervention.recorded_at), col(Intervention.id), limit=limit, offset=offset)
