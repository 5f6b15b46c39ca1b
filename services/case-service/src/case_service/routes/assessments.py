"""Suitability assessments: read, checklist, recommendation, decision by a named person."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, status
from hhpu_shared.http import UoWDep
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain.suitability import CHECKLIST
from case_service.models import Assessment
from case_service.routes.common import AssessmentReader, CaseUser, Decider, Justification, settings_of
from case_service.schemas import (
    AssessmentCreate,
    AssessmentPage,
    AssessmentPublic,
    ChecklistUpdate,
    DecisionIn,
    DecisionPublic,
    RecommendationIn,
    TriggerPublic,
)
from case_service.service import assessments
from case_service.service.common import consult, get_or_404

router = APIRouter(prefix="/assessments", tags=["suitability assessments"])


def out(uow: UnitOfWork, a: Assessment) -> AssessmentPublic:
    o = AssessmentPublic.model_validate(a)
    o.triggers = [TriggerPublic.model_validate(t) for t in repo.triggers(uow.session, a.id)]
    o.decisions = [DecisionPublic.model_validate(d) for d in repo.decisions(uow.session, a.id)]
    return o


@router.get("/checklist")
def checklist_items(principal: AssessmentReader) -> dict[str, str]:
    """The suitability checklist's items."""
    return CHECKLIST


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AssessmentPublic)
def open_assessment(
    body: AssessmentCreate, principal: CaseUser, uow: UoWDep, why: Justification
) -> AssessmentPublic:
    """Open (or extend) a person's assessment by hand, e.g. after an internal referral."""
    person = get_or_404(repo.person(uow.session, body.person_id), "person")
    return out(uow, assessments.open_manual(uow, person, body.detail, body.urgency, why))


@router.get("", response_model=AssessmentPage)
def list_assessments(
    principal: AssessmentReader,
    uow: UoWDep,
    why: Justification,
    status_: str | None = Query(None, alias="status", pattern="^(open|decided|merged)$"),
    person_id: str | None = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> AssessmentPage:
    """List assessments (each is an audited consultation)."""
    rows, total = repo.assessments(
        uow.session, status=status_, person_id=person_id, limit=limit, offset=offset
    )
    for a in rows:
        consult(uow, "assessment", a.id, why, person_id=a.person_id, view="list")
    return AssessmentPage(items=[out(uow, a) for a in rows], total=total, limit=limit, offset=offset)


@router.get("/{assessment_id}", response_model=AssessmentPublic)
def get_assessment(
    assessment_id: str, principal: AssessmentReader, uow: UoWDep, why: Justification
) -> AssessmentPublic:
    """An assessment with its triggers and decisions."""
    return out(uow, assessments.get(uow, assessment_id, why))


@router.put("/{assessment_id}/checklist", response_model=AssessmentPublic)
def set_checklist(
    assessment_id: str, body: ChecklistUpdate, principal: CaseUser, uow: UoWDep, why: Justification
) -> AssessmentPublic:
    """Answer checklist items (starting the assessment moves the case to under_assessment)."""
    return out(uow, assessments.update_checklist(uow, assessment_id, body.items, why))


@router.put("/{assessment_id}/recommendation", response_model=AssessmentPublic)
def set_recommendation(
    assessment_id: str, body: RecommendationIn, principal: CaseUser, uow: UoWDep, why: Justification
) -> AssessmentPublic:
    """Record the assessor's recommendation (not a decision)."""
    return out(uow, assessments.recommend(uow, assessment_id, body.recommendation, body.note, why))


@router.post("/{assessment_id}/decision", response_model=AssessmentPublic)
def decide(
    assessment_id: str,
    body: DecisionIn,
    request: Request,
    principal: Decider,
    uow: UoWDep,
    why: Justification,
) -> AssessmentPublic:
    """Record the decision made by a named person (adopt, decline, defer); never automatic."""
    a = assessments.decide(
        uow,
        assessment_id,
        decision=body.decision,
        decided_by=body.decided_by,
        cohort=body.cohort,
        reason=body.reason,
        source=f"api:{principal.subject}",
        why=why,
        default_cohort=settings_of(request).default_cohort,
    )
    return out(uow, a)
