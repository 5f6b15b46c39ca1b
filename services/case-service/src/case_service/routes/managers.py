"""Offender managers: staff, training, capacity; the team's weighted caseloads and equity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from hhpu_shared.http import UoWDep
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.models import Manager
from case_service.routes.common import CaseUser, Justification, Supervisor, settings_of
from case_service.schemas_records import (
    ManagerCreate,
    ManagerPublic,
    ManagerUpdate,
    TrainingCreate,
    TrainingPublic,
)
from case_service.service import managers
from case_service.service.common import consult

router = APIRouter(prefix="/managers", tags=["offender managers"])


def out(uow: UnitOfWork, m: Manager) -> ManagerPublic:
    o = ManagerPublic.model_validate(m)
    o.training = [TrainingPublic.model_validate(t) for t in repo.training(uow.session, m.id)]
    return o


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ManagerPublic)
def create_manager(
    body: ManagerCreate, request: Request, principal: Supervisor, uow: UoWDep, why: Justification
) -> ManagerPublic:
    """Add an offender manager with a capacity in caseload points."""
    cap = body.capacity_points or settings_of(request).default_capacity_points
    return out(uow, managers.create(uow, body.staff_id, body.name, cap, why))


@router.get("", response_model=list[ManagerPublic])
def list_managers(principal: CaseUser, uow: UoWDep) -> list[ManagerPublic]:
    """The team with training records."""
    return [out(uow, m) for m in repo.managers(uow.session)]


@router.patch("/{manager_id}", response_model=ManagerPublic)
def update_manager(
    manager_id: str, body: ManagerUpdate, principal: Supervisor, uow: UoWDep, why: Justification
) -> ManagerPublic:
    """Change a manager's capacity or active flag."""
    return out(uow, managers.update(uow, manager_id, body.model_dump(exclude_unset=True), why))


@router.post("/{manager_id}/training", status_code=status.HTTP_201_CREATED, response_model=ManagerPublic)
def add_training(
    manager_id: str, body: TrainingCreate, principal: Supervisor, uow: UoWDep, why: Justification
) -> ManagerPublic:
    """Record a completed course (e.g. MOSOVO, required for ViSOR cases)."""
    managers.add_training(uow, manager_id, body.course, body.completed_on, body.expires_on, why)
    m = repo.manager(uow.session, manager_id)
    assert m is not None
    return out(uow, m)


@router.get("/caseload")
def team_caseload(principal: CaseUser, uow: UoWDep, why: Justification) -> dict[str, Any]:
    """Weighted caseload per manager, high-risk cases, equity (CV, Gini, ratio to median), rebalancing."""
    view = managers.team_view(uow)
    for move in view["rebalancing"]:
        consult(uow, "case", str(move["case_id"]), why, view="rebalancing")
    return view


@router.get("/{manager_id}/cases")
def manager_cases(manager_id: str, principal: CaseUser, uow: UoWDep, why: Justification) -> dict[str, Any]:
    """One manager's caseload with each case's points (each case is an audited consultation)."""
    from case_service.domain.caseload import case_points

    rows, _ = repo.cases(uow.session, manager_id=manager_id, status="managed", limit=500)
    items: list[dict[str, Any]] = []
    total = 0.0
    for c in rows:
        consult(uow, "case", c.id, why, view="manager_caseload")
        pts = case_points(c.cohort, c.risk_band, c.mappa_level)
        total += pts
        items.append(
            {
                "case_id": c.id,
                "cohort": c.cohort,
                "risk_band": c.risk_band,
                "mappa_level": c.mappa_level,
                "points": pts,
            }
        )
    return {"manager_id": manager_id, "cases": items, "points": round(total, 2)}
