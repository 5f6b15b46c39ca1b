"""Risk assessments: ARMS, Risk Matrix 2000, IOM matrix; history and the overdue list."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, status
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep

from case_service.routes.common import CaseUser
from case_service.schemas_records import ArmsIn, IomIn, OverduePublic, RiskPublic, Rm2000In
from case_service.service import records

router = APIRouter(tags=["risk assessments"])


@router.post("/cases/{case_id}/risk/rm2000", status_code=status.HTTP_201_CREATED, response_model=RiskPublic)
def record_rm2000(
    case_id: str, body: Rm2000In, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> RiskPublic:
    """Record a Risk Matrix 2000 assessment from its inputs; S, V and C are computed."""
    inputs = body.model_dump(exclude={"assessed_on"})
    return RiskPublic.model_validate(
        records.record_risk(uow, case_id, "rm2000", inputs, body.assessed_on, why)
    )


@router.post("/cases/{case_id}/risk/arms", status_code=status.HTTP_201_CREATED, response_model=RiskPublic)
def record_arms(
    case_id: str, body: ArmsIn, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> RiskPublic:
    """Record an ARMS assessment (7 risk, 4 protective factors); the priority for work is suggested."""
    inputs = body.model_dump(exclude={"assessed_on"})
    return RiskPublic.model_validate(records.record_risk(uow, case_id, "arms", inputs, body.assessed_on, why))


@router.post("/cases/{case_id}/risk/iom", status_code=status.HTTP_201_CREATED, response_model=RiskPublic)
def record_iom(
    case_id: str, body: IomIn, principal: CaseUser, uow: UoWDep, why: JustificationDep
) -> RiskPublic:
    """Record an IOM risk matrix assessment (likelihood x harm)."""
    inputs = body.model_dump(exclude={"assessed_on"})
    return RiskPublic.model_validate(records.record_risk(uow, case_id, "iom", inputs, body.assessed_on, why))


@router.get("/cases/{case_id}/risk", response_model=Page[RiskPublic])
def risk_history(
    case_id: str, principal: CaseUser, uow: UoWDep, why: JustificationDep, page: PageDep
) -> Page[RiskPublic]:
    """Every risk assessment of a case, oldest first."""
    return records.risk_history(uow, case_id, page, why)


@router.get("/risk/overdue", response_model=Page[OverduePublic])
def overdue(
    principal: CaseUser, uow: UoWDep, why: JustificationDep, page: PageDep, as_of: date | None = None
) -> Page[OverduePublic]:
    """Managed cases whose reassessment is overdue (or unassessed after four weeks), most overdue first."""
    return records.overdue(uow, as_of, page, why)
