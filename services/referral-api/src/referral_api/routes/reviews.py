"""The match review queue (unit staff): probable and possible matches, confirmed or rejected."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep

from referral_api.routes.common import PROBLEMS, Staff
from referral_api.schemas import MatchReviewPublic, ReviewDecision
from referral_api.service import reviews

router = APIRouter(prefix="/match-reviews", tags=["match reviews"])
ReviewStatus = Literal["pending", "confirmed", "rejected", "superseded", "cancelled"]
RESOLVED = {**PROBLEMS, 409: {"description": "Already resolved"}}


@router.get("", response_model=Page[MatchReviewPublic], responses=PROBLEMS)
def list_match_reviews(
    uow: UoWDep,
    _: Staff,
    page: PageDep,
    justification: JustificationDep,
    status: ReviewStatus | None = "pending",
) -> Page[MatchReviewPublic]:
    """The review queue: probable and possible matches, oldest first."""
    return reviews.list_reviews(uow, page, status=status, justification=justification)


@router.get("/{review_id}", response_model=MatchReviewPublic, responses=PROBLEMS)
def get_match_review(
    review_id: str, uow: UoWDep, _: Staff, justification: JustificationDep
) -> MatchReviewPublic:
    """One match review with both people side by side."""
    return reviews.get_review(uow, review_id, justification)


@router.post("/{review_id}/confirm", response_model=MatchReviewPublic, responses=RESOLVED)
def confirm_match(
    review_id: str,
    uow: UoWDep,
    _: Staff,
    justification: JustificationDep,
    body: ReviewDecision | None = None,
) -> MatchReviewPublic:
    """Confirm that the subject is this known person."""
    note = body.note if body else None
    return reviews.resolve_review(uow, review_id, confirm=True, note=note, justification=justification)


@router.post("/{review_id}/reject", response_model=MatchReviewPublic, responses=RESOLVED)
def reject_match(
    review_id: str,
    uow: UoWDep,
    _: Staff,
    justification: JustificationDep,
    body: ReviewDecision | None = None,
) -> MatchReviewPublic:
    """Reject this candidate: the subject is someone else."""
    note = body.note if body else None
    return reviews.resolve_review(uow, review_id, confirm=False, note=note, justification=justification)
