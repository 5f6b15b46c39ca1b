"""Suitability assessments: read, checklist, recommendation, decision by a named person."""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep

from case_service.routes.common import AssessmentReader, CaseSettingsDep, CaseUser, Decider
from case_service.schemas import (
    AssessmentCreate,
    AssessmentPublic,
    ChecklistUpdate,
    DecisionIn,
    RecommendationIn,
)
from case_service.service import assessments

router = APIRouter(prefix="/assessments", tags=["suitability assessments"])


@router.get("/checklist")
def checklist_items(principal: AssessmentReader) -> dict[str, str]:
    """The suitability checklist's items."""
    return assessments.checklist()


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AssessmentPublic)
def open_assessment(
    body: AssessmentCreate, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> AssessmentPublic:
    """Open (or extend) a person's assessment by hand, e.g. after an internal referral."""
    a = assessments.open_manual(uow, body.person_id, body.detail, body.urgency, why)
    return assessments.public(uow, a)


@router.get("", response_model=Page[AssessmentPublic])
def list_assessments(
    principal: AssessmentReader,
    uow: UoWDep,
    why: JustificationDep,
    page: PageDep,
    status_: str | None = Query(None, alias="status", pattern="^(open|decided|merged|withdrawn)$"),
    person_id: str | None = None,
) -> Page[AssessmentPublic]:
    """List assessments, newest first (each is an audited consultation)."""
    return assessments.listing(uow, page, status=status_, person_id=person_id, why=why)


@router.get("/{assessment_id}", response_model=AssessmentPublic)
def get_assessment(
    assessment_id: str, principal: AssessmentReader, uow: UoWDep, why: JustificationDep
) -> AssessmentPublic:
    """An assessment with its triggers and decisions."""
    return assessments.public(uow, assessments.get(uow, assessment_id, why))


@router.put("/{assessment_id}/checklist", response_model=AssessmentPublic)
def set_checklist(
    assessment_id: str, body: ChecklistUpdate, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> AssessmentPublic:
    """Answer checklist items (starting the assessment moves the case to under_assessment)."""
    return assessments.public(uow, assessments.update_checklist(uow, assessment_id, body.items, why))


@router.put("/{assessment_id}/recommendation", response_model=AssessmentPublic)
def set_recommendation(
    assessment_id: str, body: RecommendationIn, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> AssessmentPublic:
    """Record the assessor's recommendation (not a decision)."""
    a = assessments.recommend(uow, assessment_id, body.recommendation, body.note, why)
    return assessments.public(uow, a)


@router.post("/{assessment_id}/decision", response_model=AssessmentPublic)
def decide(
    assessment_id: str,
    body: DecisionIn,
    principal: Decider,
    uow: UoWDep,
    why: JustificationDep,
    settings: CaseSettingsDep,
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
        default_cohort=settings.default_cohort,
    )
    return assessments.public(uow, a)
