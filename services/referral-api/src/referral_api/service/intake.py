"""Referral intake: idempotent, duplicate-checked, screened and matched in the receiving request."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import Conflict, Forbidden, Unprocessable
from hhpu_shared.events.contracts.referral import ReferralScreened, ReferralSubmitted
from hhpu_shared.uow import UnitOfWork

from referral_api import metrics
from referral_api import repository as repo
from referral_api.domain.lifecycle import Reason, Status
from referral_api.domain.matching import Grade, MatchResult, overall_grade
from referral_api.domain.screening import ScreeningInput, screen
from referral_api.models import IdempotencyRecord, Referral, new_uuid, now_utc
from referral_api.schemas import ReferralCreate
from referral_api.service import matching
from referral_api.service.common import agency_name, subject_ref, to_public
from referral_api.service.lifecycle import add_history, record_transition
from referral_api.settings import ReferralSettings


@dataclass(frozen=True)
class Submitted:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def request_hash(body: ReferralCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def submit(
    uow: UnitOfWork,
    settings: ReferralSettings,
    body: ReferralCreate,
    *,
    idempotency_key: str | None,
    justification: str,
    today: date | None = None,
) -> Submitted:
    """Claim the key, screen and match, then write the referral once in its final status.

    One short transaction of plain statements: the idempotency claim and the referral are each
    ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (no savepoints), the referral row is inserted
    already screened (and declined when not eligible), and history, events and audit entries of
    every step go in with it.
    """
    principal = uow.principal
    agency_id = principal.agency_id
    if not agency_id:
        raise Forbidden("Only a partner agency's credentials can submit a referral.")
    agency = repo.get_agency(uow.session, agency_id)
    if agency is None or not agency.active:
        raise Forbidden("The agency is not registered or not active.", code="agency_inactive")
    fingerprint = request_hash(body)
    referral_id = new_uuid()
    claim_id: int | None = None
    if idempotency_key:
        claim_id, replay = _claim_key(uow, agency_id, idempotency_key, fingerprint, referral_id)
        if replay is not None:
            return replay
    referral = Referral(
        id=referral_id,
        agency_id=agency_id,
        partner_reference=body.partner_reference,
        status=Status.SUBMITTED.value,
        status_reason=Reason.RECEIVED.value,
        subject_given_name=body.subject.given_name,
        subject_family_name=body.subject.family_name,
        subject_dob=body.subject.date_of_birth,
        domains_key="," + ",".join(body.concern.domains) + ",",
        urgency=body.urgency,
        route=body.route,
        statutory_status=body.statutory_status,
        legal_gateway=body.legal_gateway,
        payload=body.model_dump(mode="json"),
        submitted_by=principal.subject,
    )
    outcome = _screen_and_match(uow, settings, referral, body, today or date.today())
    values = {c.name: getattr(referral, c.name) for c in Referral.__table__.columns}  # type: ignore[attr-defined]
    if repo.insert_new(uow.session, Referral, values, ("agency_id", "partner_reference")) is None:
        _refuse_duplicate(uow, agency_id, body.partner_reference or "")
        raise Conflict("The referral could not be stored; retry.", code="concurrent_submission")
    _record(uow, settings, referral, body, justification, outcome)
    response = to_public(referral, staff=False).model_dump(mode="json")
    if claim_id is not None:
        repo.store_response(uow.session, claim_id, 201, json.dumps(response))
    return Submitted(201, response)


def _claim_key(
    uow: UnitOfWork, agency_id: str, key: str, fingerprint: str, referral_id: str
) -> tuple[int | None, Submitted | None]:
    """Claim the key for this request, or replay what an earlier request with it answered.

    The claim is a row under a unique index, inserted first: a concurrent request with the same
    key waits for the winner's transaction (PostgreSQL) and then replays its committed answer.
    """
    values = {
        "agency_id": agency_id,
        "key": key,
        "request_hash": fingerprint,
        "referral_id": referral_id,
        "status_code": 0,
        "response_body": "",
        "created_at": now_utc(),
    }
    claim_id = repo.insert_new(uow.session, IdempotencyRecord, values, ("agency_id", "key"))
    if claim_id is not None:
        return int(claim_id), None
    record = repo.idempotency_record(uow.session, agency_id, key)
    if record is None:  # pragma: no cover - the winner rolled back; the client retries
        raise Conflict("The same request is in progress; retry.", code="concurrent_submission")
    if record.request_hash != fingerprint:
        raise Unprocessable(
            "This Idempotency-Key was used with a different request body; use a new key.",
            code="idempotency_key_reused",
            extra={"referral_id": record.referral_id},
        )
    metrics.IDEMPOTENT_REPLAYS.inc()
    return None, Submitted(record.status_code, json.loads(record.response_body), replayed=True)


def _refuse_duplicate(uow: UnitOfWork, agency_id: str, reference: str) -> None:
    existing = repo.referral_by_partner_reference(uow.session, agency_id, reference)
    if existing is not None:
        raise Conflict(
            "A referral with this partner reference exists.",
            code="duplicate_partner_reference",
            extra={"existing_referral_id": existing.id},
        )


@dataclass(frozen=True)
class _Outcome:
    eligible: bool
    reasons: tuple[str, ...]
    matches: list[MatchResult]
    grade: Grade
    certain_ref: str | None


_SYSTEM_REASON = "screening against the unit's terms of reference"


def _screen_and_match(
    uow: UnitOfWork, settings: ReferralSettings, referral: Referral, body: ReferralCreate, today: date
) -> _Outcome:
    """Screen and match; set the referral's final status, before anything is written."""
    result = screen(
        ScreeningInput(
            domains=body.concern.domains,
            offence_types=body.concern.offence_types,
            date_of_birth=body.subject.date_of_birth,
            area=body.subject.area,
        ),
        settings.eligibility,
        today,
    )
    matches = matching.find_matches(uow, matching.record_of_referral(referral))
    grade = overall_grade(matches)
    certain_ref = matches[0].person_ref if grade == Grade.CERTAIN else None
    referral.eligible = result.eligible
    referral.screening_reasons = list(result.reasons)
    referral.match_grade = grade.value
    referral.matched_person_ref = certain_ref
    if result.eligible:
        referral.status, referral.status_reason = Status.SCREENED.value, Reason.ELIGIBLE.value
    else:
        referral.status, referral.status_reason = Status.DECLINED.value, Reason.NOT_ELIGIBLE.value
        referral.outcome_note = ("Not eligible: " + ", ".join(result.reasons))[:2000]
    metrics.REFERRALS_SCREENED.labels(str(result.eligible).lower(), grade.value).inc()
    return _Outcome(result.eligible, tuple(result.reasons), matches, grade, certain_ref)


def _record(
    uow: UnitOfWork,
    settings: ReferralSettings,
    referral: Referral,
    body: ReferralCreate,
    justification: str,
    out: _Outcome,
) -> None:
    """History, events, audit, reviews and the known person of a referral just inserted."""
    add_history(uow, referral, None, Status.SUBMITTED.value, Reason.RECEIVED.value, None)
    uow.audit(
        AuditOperation.COLLECT,
        subject_type="referral",
        subject_id=referral.id,
        justification=justification,
        recipient=None,
        detail={"legal_gateway": body.legal_gateway, "agency_id": referral.agency_id},
    )
    uow.emit(
        ReferralSubmitted(
            referral_id=referral.id,
            agency_id=referral.agency_id,
            partner_reference=body.partner_reference,
            domains=tuple(body.concern.domains),
            urgency=body.urgency,
            route=body.route,
            submitted_at=referral.submitted_at,
        ),
        aggregate_id=referral.id,
        subject=subject_ref(referral),
    )
    if out.matches:
        uow.audit(
            AuditOperation.COMBINE,
            subject_type="referral",
            subject_id=referral.id,
            justification="matching a referral subject against people the unit knows",
            detail={"grade": out.grade.value, "candidates": [m.person_ref for m in out.matches[:5]]},
        )
    reason = Reason.ELIGIBLE if out.eligible else Reason.NOT_ELIGIBLE
    record_transition(
        uow,
        referral,
        Status.SUBMITTED.value,
        Status.SCREENED,
        reason_code=reason.value,
        justification=_SYSTEM_REASON,
    )
    uow.emit(
        ReferralScreened(
            referral_id=referral.id,
            agency_id=referral.agency_id,
            eligible=out.eligible,
            reasons=out.reasons,
            domains=tuple(body.concern.domains),
            urgency=body.urgency,
            statutory_status=body.statutory_status,
            subject=matching.person_details(referral),
            match_grade=out.grade.value,
            matched_person_ref=out.certain_ref,
            agency_name=agency_name(uow, referral.agency_id),
        ),
        aggregate_id=referral.id,
        subject=subject_ref(referral),
    )
    if out.eligible:
        matching.queue_reviews(uow, referral, out.matches, settings.match_review_limit)
    else:
        record_transition(
            uow,
            referral,
            Status.SCREENED.value,
            Status.DECLINED,
            reason_code=Reason.NOT_ELIGIBLE.value,
            justification=_SYSTEM_REASON,
            note=referral.outcome_note,
        )
    matching.remember_referral_subject(uow, referral, out.certain_ref)
