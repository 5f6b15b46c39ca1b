"""Cases: open, read (audited), change, lifecycle transitions, manager allocation."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status
from hhpu_shared.auth import Role
from hhpu_shared.documents import DocFormat, respond
from hhpu_shared.errors import Forbidden
from hhpu_shared.events.contracts.common import Cohort
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep

from case_service.domain import documents
from case_service.domain.lifecycle import CaseStatus
from case_service.routes.common import DECIDER_ROLES, DOCUMENT_RESPONSES, CaseUser, Format, Supervisor
from case_service.schemas import (
    AllocationRequest,
    CaseCreate,
    CasePublic,
    CaseUpdate,
    TransitionRequest,
)
from case_service.schemas_records import SuggestionPublic
from case_service.service import assessments, cases, managers, summary

router = APIRouter(prefix="/cases", tags=["cases"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CasePublic)
def create_case(body: CaseCreate, principal: CaseUser, uow: UoWDep, why: JustificationDep) -> CasePublic:
    """Open a case by hand (e.g. a MAPPA nominal); it starts as a candidate."""
    return cases.public(uow, cases.create(uow, body.model_dump(), why))


@router.get("", response_model=Page[CasePublic])
def list_cases(
    principal: CaseUser,
    uow: UoWDep,
    why: JustificationDep,
    page: PageDep,
    status_: CaseStatus | None = Query(None, alias="status"),
    cohort: Cohort | None = None,
    manager_id: str | None = None,
) -> Page[CasePublic]:
    """List cases (each listed case is an audited consultation)."""
    return cases.listing(uow, page, status=status_, cohort=cohort, manager_id=manager_id, why=why)


@router.get("/{case_id}/summary", response_class=Response, responses=DOCUMENT_RESPONSES)
def case_summary(
    case_id: str, principal: CaseUser, uow: UoWDep, why: JustificationDep, fmt: Format = DocFormat.html
) -> Response:
    """The case summary to print (HTML, or PDF with `format=pdf`): person, cohort, manager, risk,
    interventions, notes, allocations and history, names instead of ids, marked OFFICIAL-SENSITIVE."""
    data = summary.case_summary(uow, case_id, why)
    return respond(documents.render_case_summary(data), fmt, f"case-summary-{case_id[:8]}")


@router.get("/{case_id}", response_model=CasePublic)
def get_case(case_id: str, principal: CaseUser, uow: UoWDep, why: JustificationDep) -> CasePublic:
    """A case with its status history."""
    return cases.public(uow, cases.get(uow, case_id, why))


@router.patch("/{case_id}", response_model=CasePublic)
def update_case(
    case_id: str, body: CaseUpdate, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> CasePublic:
    """Change cohort (ViSOR needs MAPPA category and level), s.38 category, statutory status, review date."""
    return cases.public(uow, cases.update(uow, case_id, body.model_dump(exclude_unset=True), why))


@router.post("/{case_id}/transitions", response_model=CasePublic)
def transition_case(
    case_id: str, body: TransitionRequest, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> CasePublic:
    """Move a case along its lifecycle; an illegal move answers 409, an exit needs a coded reason.

    To `managed` only through an adopt decision: a supervisor or chair names who decided
    (`decided_by`), and the decision is recorded on the person's suitability assessment."""
    if body.to == "managed":
        if not principal.has(*DECIDER_ROLES, Role.ADMINISTRATOR):
            raise Forbidden("Only a supervisor or the meeting chair records an adoption.")
        return cases.public(uow, assessments.adopt_by_hand(uow, case_id, body.decided_by, body.reason, why))
    return cases.public(uow, cases.change_status(uow, case_id, body.to, body.reason_code, why))


@router.get("/{case_id}/allocation-suggestion", response_model=SuggestionPublic)
def allocation_suggestion(
    case_id: str, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> SuggestionPublic:
    """Which manager should take this case: trained, lowest weighted load after allocation, with reasons."""
    s = managers.suggestion_for(uow, case_id, why)
    return SuggestionPublic(
        manager_id=s.manager_id,
        points_after=s.points_after,
        utilisation_after=s.utilisation_after,
        reasons=list(s.reasons),
        considered=list(s.considered),
    )


@router.post("/{case_id}/allocation", response_model=CasePublic)
def allocate_case(
    case_id: str, body: AllocationRequest, principal: Supervisor, uow: UoWDep, why: JustificationDep
) -> CasePublic:
    """Allocate a manager (the named one, checked for training and capacity, or the suggestion)."""
    c = cases.allocate_manager(
        uow, case_id, body.manager_id, why, accept_over_capacity=body.accept_over_capacity
    )
    return cases.public(uow, c)
