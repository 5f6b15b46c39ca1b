"""Cases: open, read (audited), change, lifecycle transitions, manager allocation."""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from hhpu_shared.errors import Conflict
from hhpu_shared.http import UoWDep
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.models import Case
from case_service.routes.common import CaseUser, Justification, Supervisor
from case_service.schemas import (
    AllocationRequest,
    CaseCreate,
    CasePage,
    CasePublic,
    CaseStatus,
    CaseUpdate,
    Cohort,
    StatusChangePublic,
    TransitionRequest,
)
from case_service.schemas_records import SuggestionPublic
from case_service.service import cases, managers
from case_service.service.common import consult, get_or_404

router = APIRouter(prefix="/cases", tags=["cases"])


def case_out(uow: UnitOfWork, c: Case, *, full: bool = True) -> CasePublic:
    out = CasePublic.model_validate(c)
    if full:
        out.history = [StatusChangePublic.model_validate(x) for x in repo.status_changes(uow.session, c.id)]
    return out


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CasePublic)
def create_case(body: CaseCreate, principal: CaseUser, uow: UoWDep, why: Justification) -> CasePublic:
    """Open a case by hand (e.g. a MAPPA nominal); it starts as a candidate."""
    return case_out(uow, cases.create(uow, body.model_dump(), why))


@router.get("", response_model=CasePage)
def list_cases(
    principal: CaseUser,
    uow: UoWDep,
    why: Justification,
    status_: CaseStatus | None = Query(None, alias="status"),
    cohort: Cohort | None = None,
    manager_id: str | None = None,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> CasePage:
    """List cases (each listed case is an audited consultation)."""
    rows, total = repo.cases(
        uow.session, status=status_, cohort=cohort, manager_id=manager_id, limit=limit, offset=offset
    )
    for c in rows:
        consult(uow, "case", c.id, why, view="list")
    return CasePage(
        items=[case_out(uow, c, full=False) for c in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{case_id}", response_model=CasePublic)
def get_case(case_id: str, principal: CaseUser, uow: UoWDep, why: Justification) -> CasePublic:
    """A case with its status history."""
    return case_out(uow, cases.get(uow, case_id, why))


@router.patch("/{case_id}", response_model=CasePublic)
def update_case(
    case_id: str, body: CaseUpdate, principal: CaseUser, uow: UoWDep, why: Justification
) -> CasePublic:
    """Change cohort (ViSOR needs MAPPA category and level), s.38 category, statutory status, review date."""
    return case_out(uow, cases.update(uow, case_id, body.model_dump(exclude_unset=True), why))


@router.post("/{case_id}/transitions", response_model=CasePublic)
def transition_case(
    case_id: str, body: TransitionRequest, principal: CaseUser, uow: UoWDep, why: Justification
) -> CasePublic:
    """Move a case along its lifecycle; an illegal move answers 409, an exit needs a coded reason."""
    c = get_or_404(repo.case(uow.session, case_id), "case")
    return case_out(uow, cases.transition(uow, c, body.to, body.reason_code, why))


@router.get("/{case_id}/allocation-suggestion", response_model=SuggestionPublic)
def allocation_suggestion(
    case_id: str, principal: CaseUser, uow: UoWDep, why: Justification
) -> SuggestionPublic:
    """Which manager should take this case: trained, lowest weighted load after allocation, with reasons."""
    consult(uow, "case", case_id, why, view="allocation_suggestion")
    s = managers.suggestion_for(uow, case_id)
    return SuggestionPublic(
        manager_id=s.manager_id,
        points_after=s.points_after,
        utilisation_after=s.utilisation_after,
        reasons=list(s.reasons),
        considered=list(s.considered),
    )


@router.post("/{case_id}/allocation", response_model=CasePublic)
def allocate_case(
    case_id: str, body: AllocationRequest, principal: Supervisor, uow: UoWDep, why: Justification
) -> CasePublic:
    """Allocate a manager (the named one, checked for training, or the suggestion)."""
    c = get_or_404(repo.case(uow.session, case_id), "case")
    if c.status == "exited":
        raise Conflict("an exited case is not allocated", code="case_exited")
    cases.allocate(uow, c, manager_id=body.manager_id, why=why)
    return case_out(uow, c)
