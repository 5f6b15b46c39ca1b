"""Interventions: the catalogue of 46 types, and records per case."""

from __future__ import annotations

from fastapi import APIRouter, status
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep

from case_service.routes.common import AggregateUser, CaseUser
from case_service.schemas_records import (
    InterventionCreate,
    InterventionPublic,
    InterventionTypePublic,
    InterventionUpdate,
)
from case_service.service import records

router = APIRouter(tags=["interventions"])


@router.get("/intervention-types", response_model=Page[InterventionTypePublic])
def intervention_types(principal: AggregateUser, page: PageDep) -> Page[InterventionTypePublic]:
    """The catalogue: 46 types, 32 disruptive, 4 rehabilitative, 10 both."""
    return records.intervention_types(page)


@router.post(
    "/cases/{case_id}/interventions", status_code=status.HTTP_201_CREATED, response_model=InterventionPublic
)
def record_intervention(
    case_id: str, body: InterventionCreate, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> InterventionPublic:
    """Record an intervention on a case (type, delivering agency, start, end, status, outcome)."""
    return InterventionPublic.model_validate(
        records.record_intervention(uow, case_id, body.model_dump(), why)
    )


@router.get("/cases/{case_id}/interventions", response_model=Page[InterventionPublic])
def list_interventions(
    case_id: str, principal: CaseUser, uow: UoWDep, why: JustificationDep, page: PageDep
) -> Page[InterventionPublic]:
    """The interventions recorded on a case."""
    return records.interventions(uow, case_id, page, why)


@router.patch("/interventions/{intervention_id}", response_model=InterventionPublic)
def update_intervention(
    intervention_id: str,
    body: InterventionUpdate,
    principal: CaseUser,
    uow: UoWDep,
    why: JustificationDep,
) -> InterventionPublic:
    """Record an intervention's end, status or outcome."""
    row = records.update_intervention(uow, intervention_id, body.model_dump(exclude_unset=True), why)
    return InterventionPublic.model_validate(row)
