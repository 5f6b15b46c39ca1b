"""HTTP: MoPI review and retention, for the data protection officer and supervisors: the review
queue, one person's review state and history, and the retain or dispose decision."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep
from pydantic import Field

from case_service.routes.protection import DataProtector
from case_service.schemas_retention import (
    RetentionReviewPublic,
    RetentionStatus,
    ReviewDecisionIn,
    ReviewOutcome,
)
from case_service.service import retention

router = APIRouter(tags=["data protection"])
Group = Annotated[int, Field(ge=1, le=4)]


@router.get("/retention-reviews", response_model=Page[RetentionStatus])
def review_queue(
    principal: DataProtector,
    uow: UoWDep,
    why: JustificationDep,
    page: PageDep,
    due_before: Annotated[
        date | None, Query(description="reviews due on or before this date (default: today)")
    ] = None,
    group: Annotated[list[Group] | None, Query(description="MoPI group(s), 1..4 (default: all)")] = None,
) -> Page[RetentionStatus]:
    """The MoPI review queue: people whose review is due, soonest first, with their group and its
    basis. Each person shown is an audited consultation."""
    return retention.queue(uow, page, due_before=due_before, groups=sorted(set(group or [])), why=why)


@router.get("/people/{person_id}/retention", response_model=RetentionStatus)
def review_status(
    person_id: str, principal: DataProtector, uow: UoWDep, why: JustificationDep
) -> RetentionStatus:
    """One person's MoPI group, its basis and the next review date (409 once disposed of)."""
    return retention.status(uow, person_id, why)


@router.post("/people/{person_id}/retention-review", response_model=ReviewOutcome)
def decide_review(
    person_id: str, body: ReviewDecisionIn, principal: DataProtector, uow: UoWDep, why: JustificationDep
) -> ReviewOutcome:
    """Record a MoPI review decision. Retain (a National Retention Assessment Criteria reason): the
    next review moves on by the group's interval. Dispose (when the review is due; a group 1 record
    only once the subject is 100): the person's data is erased in every service (reason code
    `mopi_disposal`). Both are kept in the review history and audited."""
    return retention.decide(uow, person_id, body.decision, body.reason_code, body.reason, why)


@router.get("/people/{person_id}/retention-reviews", response_model=Page[RetentionReviewPublic])
def review_history(
    person_id: str, principal: DataProtector, uow: UoWDep, why: JustificationDep, page: PageDep
) -> Page[RetentionReviewPublic]:
    """Every MoPI review decision on a person, oldest first (kept after a disposal)."""
    return retention.history(uow, person_id, page, why)
