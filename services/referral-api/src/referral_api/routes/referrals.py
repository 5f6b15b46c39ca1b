"""Referrals: submit (partners), list, read, follow the status, withdraw."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse
from hhpu_shared.events.contracts.common import HarmDomain
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep, in_unit_of_work

from referral_api.domain.lifecycle import Status
from referral_api.routes.common import PROBLEMS, Partner, SettingsDep, StaffOrPartner
from referral_api.schemas import (
    ReferralCreate,
    ReferralPublic,
    ReferralStatusPublic,
    ReferralSummary,
    WithdrawRequest,
)
from referral_api.service import intake, referrals

router = APIRouter(prefix="/referrals", tags=["referrals"])


@router.post(
    "",
    status_code=201,
    response_model=ReferralPublic,
    responses={
        **PROBLEMS,
        409: {"description": "Duplicate partner reference (`duplicate_partner_reference`, with its id)"},
        201: {"description": "Created, screened and matched; a retry with the same key replays this"},
    },
)
async def submit_referral(
    request: Request,
    principal: Partner,
    settings: SettingsDep,
    justification: JustificationDep,
    body: Annotated[ReferralCreate, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=255,
            description="retry safely with the same key",
        ),
    ] = None,
) -> JSONResponse:
    """Submit a referral; it is screened and matched before the response."""
    # The busiest route: its unit of work and the intake on one worker thread, in one trip (http.py).
    result = await in_unit_of_work(
        request,
        principal,
        lambda uow: intake.submit(
            uow, settings, body, idempotency_key=idempotency_key, justification=justification
        ),
    )
    headers = {"Location": f"/api/v1/referrals/{result.body['id']}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


@router.get("", response_model=Page[ReferralSummary], responses=PROBLEMS)
def list_referrals(
    uow: UoWDep,
    _: StaffOrPartner,
    page: PageDep,
    justification: JustificationDep,
    status: Status | None = None,
    domain: HarmDomain | None = None,
    submitted_from: date | None = None,
    submitted_to: date | None = None,
    agency_id: Annotated[str | None, Query(max_length=36, description="staff only")] = None,
) -> Page[ReferralSummary]:
    """List referrals (a partner sees its own), newest first, without names (each row is audited)."""
    return referrals.list_page(
        uow,
        page,
        status=status.value if status else None,
        domain=domain,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        agency_id=agency_id,
        justification=justification,
    )


@router.get("/{referral_id}", response_model=ReferralPublic, responses=PROBLEMS)
def get_referral(
    referral_id: str, uow: UoWDep, _: StaffOrPartner, justification: JustificationDep
) -> ReferralPublic:
    """Read one referral (the consultation is audited)."""
    return referrals.get(uow, referral_id, justification)


@router.get("/{referral_id}/status", response_model=ReferralStatusPublic, responses=PROBLEMS)
def referral_status(
    referral_id: str, uow: UoWDep, _: StaffOrPartner, justification: JustificationDep
) -> ReferralStatusPublic:
    """Status, outcome, reasons and history, for the referring agency and unit staff."""
    return referrals.status_of(uow, referral_id, justification)


@router.post(
    "/{referral_id}/withdraw",
    response_model=ReferralPublic,
    responses={**PROBLEMS, 409: {"description": "Not withdrawable in its status (`illegal_transition`)"}},
)
def withdraw_referral(
    referral_id: str, body: WithdrawRequest, uow: UoWDep, _: Partner, justification: JustificationDep
) -> ReferralPublic:
    """Withdraw your own referral, with a coded reason."""
    return referrals.withdraw(uow, referral_id, body, justification)
