"""Known people, matching a referral's subject against them, and the match review queue."""

from __future__ import annotations

from typing import Any

from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import Conflict, NotFound
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.events.contracts.referral import ReferralMatchResolved
from hhpu_shared.events.envelope import SubjectRef
from hhpu_shared.uow import UnitOfWork
from sqlmodel import Session

from referral_api import repository as repo
from referral_api.domain.matching import (
    Grade,
    MatchResult,
    PersonRecord,
    blocking_keys,
    normalise_pnc,
    rank_candidates,
)
from referral_api.models import KnownPerson, MatchReview, Referral, now_utc
from referral_api.schemas import KnownPersonPublic, MatchReviewPage, MatchReviewPublic, Subject

REFERRAL_PERSON_PREFIX = "referral:"


def subject_of(referral: Referral) -> dict[str, Any]:
    return dict(referral.payload["subject"])


def person_details(referral: Referral) -> PersonDetails:
    s = subject_of(referral)
    return PersonDetails(
        given_name=s["given_name"],
        family_name=s["family_name"],
        middle_names=s.get("middle_names"),
        aliases=tuple(s.get("aliases") or ()),
        date_of_birth=s.get("date_of_birth"),
        pnc_number=s.get("pnc_number"),
        area=s.get("area"),
    )


def record_of_referral(referral: Referral) -> PersonRecord:
    d = person_details(referral)
    return PersonRecord(
        given_name=d.given_name,
        family_name=d.family_name,
        middle_names=d.middle_names,
        aliases=d.aliases,
        date_of_birth=d.date_of_birth,
        pnc_number=d.pnc_number,
    )


def record_of_known(p: KnownPerson) -> PersonRecord:
    return PersonRecord(
        given_name=p.given_name,
        family_name=p.family_name,
        middle_names=p.middle_names,
        aliases=tuple(p.aliases),
        date_of_birth=p.date_of_birth,
        pnc_number=p.pnc_number,
        records_id=p.records_id,
        person_ref=p.person_ref,
    )


def find_matches(session: Session, subject: PersonRecord) -> list[MatchResult]:
    """Fetch known people sharing a blocking key, then grade each one."""
    rows = repo.candidate_people(
        session,
        dob=subject.date_of_birth,
        pnc=normalise_pnc(subject.pnc_number),
        records_id=subject.records_id,
        soundex_keys=sorted(blocking_keys(subject)),
    )
    return rank_candidates(subject, (record_of_known(r) for r in rows))


def _fill_known(row: KnownPerson, details: PersonDetails) -> None:
    row.given_name = details.given_name
    row.family_name = details.family_name
    row.middle_names = details.middle_names
    row.aliases = list(details.aliases)
    row.date_of_birth = details.date_of_birth
    row.pnc_number = normalise_pnc(details.pnc_number)
    row.records_id = details.records_id
    row.area = details.area
    rec = PersonRecord(details.given_name, details.family_name, aliases=details.aliases)
    row.soundex_key = "," + ",".join(sorted(blocking_keys(rec))) + ","
    row.updated_at = now_utc()


def remember_referral_subject(session: Session, referral: Referral, person_ref: str | None) -> KnownPerson:
    """Keep the subject as a known person, under the matched reference or one of its own."""
    row = KnownPerson(
        person_ref=person_ref or REFERRAL_PERSON_PREFIX + referral.id,
        source="referral",
        source_id=referral.id,
        given_name="",
        family_name="",
    )
    _fill_known(row, person_details(referral))
    session.add(row)
    return row


def remember_candidate(session: Session, data: CandidateIdentified) -> KnownPerson | None:
    """Store (or refresh) a ranking candidate as a known person; idempotent per person_ref."""
    if data.subject is None:
        return None
    row = repo.known_person_by_source(session, "ranking", data.person_ref)
    if row is None:
        row = KnownPerson(
            person_ref=data.person_ref,
            source="ranking",
            source_id=data.person_ref,
            given_name="",
            family_name="",
        )
    _fill_known(row, data.subject)
    session.add(row)
    return row


def queue_reviews(session: Session, referral: Referral, results: list[MatchResult], limit: int) -> int:
    n = 0
    for r in results[:limit]:
        if r.grade in (Grade.PROBABLE, Grade.POSSIBLE):
            session.add(
                MatchReview(
                    referral_id=referral.id,
                    candidate_person_ref=r.person_ref,
                    grade=r.grade.value,
                    score=r.score,
                    reasons=list(r.reasons),
                )
            )
            n += 1
    return n


def cancel_pending_reviews(session: Session, referral_id: str, status: str = "cancelled") -> None:
    for review in repo.reviews_of(session, referral_id):
        if review.status == "pending":
            review.status = status
            review.resolved_at = now_utc()
            session.add(review)


# -- review queue ----------------------------------------------------------------------------------
def review_public(session: Session, review: MatchReview) -> MatchReviewPublic:
    referral = repo.get_referral(session, review.referral_id)
    if referral is None:  # pragma: no cover - foreign key
        raise NotFound("No such referral.")
    candidate = repo.known_person_by_ref(session, review.candidate_person_ref)
    return MatchReviewPublic(
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
        candidate=KnownPersonPublic.model_validate(candidate, from_attributes=True) if candidate else None,
    )


def list_reviews(
    uow: UnitOfWork, *, status: str | None, limit: int, offset: int, justification: str
) -> MatchReviewPage:
    rows, total = repo.list_reviews(uow.session, status=status, limit=limit, offset=offset)
    items = [review_public(uow.session, r) for r in rows]
    for r in rows:
        uow.audit(
            AuditOperation.CONSULT,
            subject_type="referral",
            subject_id=r.referral_id,
            justification=justification,
            detail={"match_review": r.id, "candidate": r.candidate_person_ref},
        )
    return MatchReviewPage(items=items, total=total, limit=limit, offset=offset)


def get_review(uow: UnitOfWork, review_id: str, justification: str) -> MatchReviewPublic:
    review = repo.get_review(uow.session, review_id)
    if review is None:
        raise NotFound("No such match review.")
    uow.audit(
        AuditOperation.CONSULT,
        subject_type="referral",
        subject_id=review.referral_id,
        justification=justification,
        detail={"match_review": review.id, "candidate": review.candidate_person_ref},
    )
    return review_public(uow.session, review)


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
        cancel_pending_reviews(session, referral.id, status="superseded")
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
    uow.audit(
        AuditOperation.COMBINE if confirm else AuditOperation.ALTER,
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
            ),
            aggregate_id=referral.id,
            subject=SubjectRef(type="referral", id=referral.id),
        )
    return review_public(session, review)
