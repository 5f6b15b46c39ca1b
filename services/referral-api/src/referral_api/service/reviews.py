"""The match review queue: a reviewer confirms or rejects each probable or possible match."""

from __future__ import annotations

from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import Conflict, NotFound
from hhpu_shared.events.contracts.referral import ReferralMatchResolved
from hhpu_shared.http import Page, PageParams
from hhpu_shared.protection import marks
from hhpu_shared.uow import UnitOfWork
from hhpu_shared.visibility import redact

from referral_api import repository as repo
from referral_api.models import MatchReview, now_utc
from referral_api.schemas import KnownPersonPublic, MatchReviewPublic, Subject
from referral_api.service.common import agency_name, subject_ref
from referral_api.service.matching import cancel_pending_reviews, person_details, subject_of


def review_public(uow: UnitOfWork, review: MatchReview) -> MatchReviewPublic:
    referral = repo.get_referral(uow.session, review.referral_id)
    if referral is None:  # pragma: no cover - foreign key
        raise NotFound("No such referral.")
    candidate = repo.known_person_by_ref(
        uow.session, review.candidate_person_ref, not_referral=review.referral_id
    )
    return redact(
        uow.principal,
        MatchReviewPublic(
            id=review.id,
            referral_id=review.referral_id,
            grade=review.grade,
            score=review.score,
            reasons=list(review.reasons),
            status=review.status,
            resolved_by=review.resolved_by,
            resolved_at=review.resolved_at,
            note=review.note,
            created_at=review.created_at,
            subject=Subject.model_validate(subject_of(referral)),
            candidate=KnownPersonPublic.model_validate(candidate, from_attributes=True)
            if candidate
            else None,
        ),
    )


def list_reviews(
    uow: UnitOfWork, page: PageParams, *, status: str | None, justification: str
) -> Page[MatchReviewPublic]:
    """The review queue, oldest first; every review shown is a consultation of the referral."""
    rows, total = repo.list_reviews(uow.session, status=status, limit=page.limit, offset=page.offset)
    items = [review_public(uow, r) for r in rows]
    uow.audit_people(
        AuditOperation.CONSULT,
        [ref for r in rows for ref in (r.referral_id, r.candidate_person_ref)] or [None],
        subject_type="match_reviews",
        subject_id=status or "all",
        justification=justification,
        detail={"match_reviews": [r.id for r in rows]},
    )
    return Page[MatchReviewPublic].of(items, total, page)


def get_review(uow: UnitOfWork, review_id: str, justification: str) -> MatchReviewPublic:
    review = repo.get_review(uow.session, review_id)
    if review is None:
        raise NotFound("No such match review.")
    uow.audit_people(
        AuditOperation.CONSULT,
        [review.referral_id, review.candidate_person_ref],
        subject_type="match_review",
        subject_id=review.id,
        justification=justification,
        detail={"referral": review.referral_id},
    )
    return review_public(uow, review)


def resolve_review(
    uow: UnitOfWork, review_id: str, *, confirm: bool, note: str | None, justification: str
) -> MatchReviewPublic:
    """A reviewer's decision; the referral's match is settled when one is confirmed or all are rejected."""
    session = uow.session
    review = repo.get_review(session, review_id, for_update=True)
    if review is None:
        raise NotFound("No such match review.")
    if review.status != "pending":
        raise Conflict(f"This review is already {review.status}.", code="review_already_resolved")
    if marks(session, [review.referral_id, review.candidate_person_ref]):
        raise Conflict("Processing of this person's data is restricted.", code="restricted")
    referral = repo.get_referral(session, review.referral_id, for_update=True)
    if referral is None:  # pragma: no cover - foreign key
        raise NotFound("No such referral.")
    review.status = "confirmed" if confirm else "rejected"
    review.resolved_by = uow.principal.subject
    review.resolved_at = now_utc()
    review.note = note
    session.add(review)
    resolved_ref: str | None = None
    settled = False
    if confirm:
        resolved_ref = review.candidate_person_ref
        settled = True
        cancel_pending_reviews(uow, referral.id, status="superseded")
        referral.matched_person_ref = resolved_ref
        referral.updated_at = now_utc()
        session.add(referral)
        own = repo.known_person_by_source(session, "referral", referral.id)
        if own is not None:
            own.person_ref = resolved_ref
            session.add(own)
    else:
        session.flush()
        others = repo.reviews_of(session, referral.id)
        settled = all(r.status != "pending" for r in others) and not any(
            r.status == "confirmed" for r in others
        )
    uow.audit_people(  # about both people the decision links (or tells apart), and shows
        AuditOperation.COMBINE if confirm else AuditOperation.ALTER,
        [referral.id, review.candidate_person_ref],
        subject_type="referral",
        subject_id=referral.id,
        justification=justification,
        detail={
            "match_review": review.id,
            "decision": review.status,
            "candidate": review.candidate_person_ref,
        },
    )
    if settled:
        payload = referral.payload
        uow.emit(
            ReferralMatchResolved(
                referral_id=referral.id,
                agency_id=referral.agency_id,
                resolved_by=uow.principal.subject,
                person_ref=resolved_ref,
                subject=person_details(referral),
                domains=tuple(payload["concern"]["domains"]),
                urgency=referral.urgency,
                statutory_status=referral.statutory_status,
                agency_name=agency_name(uow, referral.agency_id),
                partner_reference=referral.partner_reference,
            ),
            aggregate_id=referral.id,
            subject=subject_ref(referral),
        )
    return review_public(uow, review)
