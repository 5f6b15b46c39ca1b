"""Offender managers: staff, training, capacity; the team's weighted caseloads and equity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep

from case_service.routes.common import CaseSettingsDep, CaseUser, Supervisor
from case_service.schemas_caseload import ManagerCaseload, TeamCaseload
from case_service.schemas_records import ManagerCreate, ManagerPublic, ManagerUpdate, TrainingCreate
from case_service.service import managers, mycaseload

router = APIRouter(prefix="/managers", tags=["offender managers"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ManagerPublic)
def create_manager(
    body: ManagerCreate,
    principal: Supervisor,
    uow: UoWDep,
    why: JustificationDep,
    settings: CaseSettingsDep,
) -> ManagerPublic:
    """Add an offender manager with a capacity in caseload points."""
    cap = body.capacity_points or settings.default_capacity_points
    return managers.public(uow, managers.create(uow, body.staff_id, body.name, cap, why))


@router.get("", response_model=Page[ManagerPublic])
def list_managers(principal: CaseUser, uow: UoWDep, page: PageDep) -> Page[ManagerPublic]:
    """The team with training records."""
    return managers.listing(uow, page)


@router.patch("/{manager_id}", response_model=ManagerPublic)
def update_manager(
    manager_id: str, body: ManagerUpdate, principal: Supervisor, uow: UoWDep, why: JustificationDep
) -> ManagerPublic:
    """Change a manager's capacity or active flag."""
    return managers.public(uow, managers.update(uow, manager_id, body.model_dump(exclude_unset=True), why))


@router.post("/{manager_id}/training", status_code=status.HTTP_201_CREATED, response_model=ManagerPublic)
def add_training(
    manager_id: str, body: TrainingCreate, principal: Supervisor, uow: UoWDep, why: JustificationDep
) -> ManagerPublic:
    """Record a completed course (e.g. MOSOVO, required for ViSOR cases)."""
    m = managers.add_training(uow, manager_id, body.course, body.completed_on, body.expires_on, why)
    return managers.public(uow, m)


@router.get("/caseload", response_model=TeamCaseload)
def team_caseload(principal: CaseUser, uow: UoWDep, why: JustificationDep, page: PageDep) -> dict[str, Any]:
    """Weighted caseload per manager (one page of managers), high-risk cases, equity over the whole
    team (CV, Gini, ratio to median) and up to five suggested moves."""
    return managers.team_view(uow, page, why)


@router.get("/me/caseload", response_model=ManagerCaseload)
def my_caseload(principal: CaseUser, uow: UoWDep, why: JustificationDep, page: PageDep) -> dict[str, Any]:
    """The signed-in offender manager's caseload: names, cohort, risk, next review and risk-assessment
    due dates, each case's due work, and her load against capacity. 404 `not_a_manager` when the
    caller has no manager record (her staff id is her sign-in). Meeting actions live in the
    meeting-service: `open_actions.url` lists hers. Each listed case is an audited consultation."""
    return mycaseload.my_caseload(uow, page, why)


@router.get("/{manager_id}/cases", response_model=ManagerCaseload)
def manager_cases(
    manager_id: str, principal: CaseUser, uow: UoWDep, why: JustificationDep, page: PageDep
) -> dict[str, Any]:
    """One manager's caseload, as `/managers/me/caseload` shows it to her: one page of cases with
    names, cohort, risk, due work and points, the totals and her load (each case shown is an audited
    consultation). 404 when there is no such manager."""
    return mycaseload.caseload_of(uow, manager_id, page, why)
