"""HTTP routes for referrals and the match review queue."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from hhpu_shared.auth import Principal, Role
from hhpu_shared.http import UoWDep, get_runtime, require_roles

from referral_api import service, service_intake, service_matching
from referral_api.schemas import (
    MatchReviewPage,
    MatchReviewPublic,
    ReferralCreate,
    ReferralPage,
    ReferralPublic,
    ReferralStatusPublic,
    ReviewDecision,
    WithdrawRequest,
)
from referral_api.settings import ReferralSettings

router = APIRouter()

Partner = Annotated[Principal, Depends(require_roles(Role.PARTNER_AGENCY))]
StaffOrPartner = Annotated[Principal, Depends(require_roles(Role.PARTNER_AGENCY, *service.STAFF_ROLES))]
Staff = Annotated[Principal, Depends(require_roles(*service.STAFF_ROLES))]
Justification = Annotated[
    str | None,
    Header(alias="X-Justification", max_length=500, description="why the caller needs this (audit trail)"),
]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]
StatusFilter = Literal["submitted", "screened", "under_assessment", "accepted", "declined", "withdrawn"]
DomainFilter = Literal[
    "domestic_abuse",
    "serious_sexual_offending",
    "serious_violence",
    "child_abuse",
    "hate_crime",
    "exploitation",
    "stalking",
]

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No verified identity"},
    403: {"description": "The role does not allow this"},
    422: {"description": "Invalid request (problem+json with field codes)"},
}


def why(header: str | None, default: str) -> str:
    return header.strip() if header and header.strip() else default


def _settings(request: Request) -> ReferralSettings:
    settings = get_runtime(request).settings
    assert isinstance(settings, ReferralSettings)
    return settings


@router.post(
    "/referrals",
    status_code=201,
    response_model=ReferralPublic,
    tags=["referrals"],
    responses={
        **PROBLEMS,
        409: {"description": "Duplicate partner reference (`duplicate_partner_reference`, with its id)"},
        201: {"description": "Created, screened and matched; a retry with the same key replays this"},
    },
)
def submit_referral(
    request: Request,
    uow: UoWDep,
    _: Partner,
    body: Annotated[ReferralCreate, Body()],
    justification: Justification = None,
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
    result = service_intake.submit(
        uow,
        _settings(request),
        body,
        idempotency_key=idempotency_key,
        justification=why(justification, "partner referral received for HHPU screening"),
    )
    headers = {"Location": f"/api/v1/referrals/{result.body['id']}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result.body, status_code=result.status_code, headers=headers)


@router.get("/referrals", response_model=ReferralPage, tags=["referrals"], responses=PROBLEMS)
def list_referrals(
    uow: UoWDep,
    _: StaffOrPartner,
    status: StatusFilter | None = None,
    domain: DomainFilter | None = None,
    submitted_from: date | None = None,
    submitted_to: date | None = None,
    agency_id: Annotated[str | None, Query(max_length=36, description="staff only")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> ReferralPage:
    """List referrals (a partner sees its own), newest first, without personal data."""
    return service.list_page(
        uow,
        status=status,
        domain=domain,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        agency_id=agency_id,
        limit=limit,
        offset=offset,
    )


@router.get("/referrals/{referral_id}", response_model=ReferralPublic, tags=["referrals"], responses=PROBLEMS)
def get_referral(
    referral_id: str, uow: UoWDep, _: StaffOrPartner, justification: Justification = None
) -> ReferralPublic:
    """Read one referral (the consultation is audited)."""
    return service.get(uow, referral_id, why(justification, "reading a referral"))


@router.get(
    "/referrals/{referral_id}/status",
    response_model=ReferralStatusPublic,
    tags=["referrals"],
    responses=PROBLEMS,
)
def referral_status(
    referral_id: str, uow: UoWDep, _: StaffOrPartner, justification: Justification = None
) -> ReferralStatusPublic:
    """Status, outcome, reasons and history, for the referring agency and unit staff."""
    return service.status_of(uow, referral_id, why(justification, "status feedback to the referring agency"))


@router.post(
    "/referrals/{referral_id}/withdraw",
    response_model=ReferralPublic,
    tags=["referrals"],
    responses={**PROBLEMS, 409: {"description": "Not withdrawable in its status (`illegal_transition`)"}},
)
def withdraw_referral(
    referral_id: str,
    body: WithdrawRequest,
    uow: UoWDep,
    _: Partner,
    justification: Justification = None,
) -> ReferralPublic:
    """Withdraw your own referral, with a coded reason."""
    return service.withdraw(uow, referral_id, body, why(justification, "referral withdrawn by the referrer"))


@router.get("/match-reviews", response_model=MatchReviewPage, tags=["match reviews"], responses=PROBLEMS)
def list_match_reviews(
    uow: UoWDep,
    _: Staff,
    status: Literal["pending", "confirmed", "rejected", "superseded", "cancelled"] | None = "pending",
    limit: Limit = 20,
    offset: Offset = 0,
    justification: Justification = None,
) -> MatchReviewPage:
    """The review queue: probable and possible matches, oldest first."""
    return service_matching.list_reviews(
        uow, status=status, limit=limit, offset=offset, justification=why(justification, "match review")
    )


@router.get(
    "/match-reviews/{review_id}", response_model=MatchReviewPublic, tags=["match reviews"], responses=PROBLEMS
)
def get_match_review(
    review_id: str, uow: UoWDep, _: Staff, justification: Justification = None
) -> MatchReviewPublic:
    """One match review with both people side by side."""
    return service_matching.get_review(uow, review_id, why(justification, "match review"))


@router.post(
    "/match-reviews/{review_id}/confirm",
    response_model=MatchReviewPublic,
    tags=["match reviews"],
    responses={**PROBLEMS, 409: {"description": "Already resolved"}},
)
def confirm_match(
    review_id: str,
    uow: UoWDep,
    _: Staff,
    body: ReviewDecision | None = None,
    justification: Justification = None,
) -> MatchReviewPublic:
    """Confirm that the subject is this known person."""
    return service_matching.resolve_review(
        uow,
        review_id,
        confirm=True,
        note=body.note if body else None,
        justification=why(justification, "match review decision"),
    )


@router.post(
    "/match-reviews/{review_id}/reject",
    response_model=MatchReviewPublic,
    tags=["match reviews"],
    responses={**PROBLEMS, 409: {"description": "Already resolved"}},
)
def reject_match(
    review_id: str,
    uow: UoWDep,
    _: Staff,
    body: ReviewDecision | None = None,
    justification: Justification = None,
) -> MatchReviewPublic:
    """Reject this candidate: the subject is someone else."""
    return service_matching.resolve_review(
        uow,
        review_id,
        confirm=False,
        note=body.note if body else None,
        justification=why(justification, "match review decision"),
    )
