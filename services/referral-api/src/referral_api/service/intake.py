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
from sqlalchemy.exc import IntegrityError

from referral_api import metrics
from referral_api import repository as repo
from referral_api.domain.lifecycle import Reason, Status
from referral_api.domain.matching import Grade, overall_grade
from referral_api.domain.screening import ScreeningInput, screen
from referral_api.models import IdempotencyRecord, Referral, new_uuid
from referral_api.schemas import ReferralCreate
from referral_api.service import matching
from referral_api.service.common import agency_name, subject_ref, to_public
from referral_api.service.lifecycle import add_history, change_status
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
    principal = uow.principal
    agency_id = principal.agency_id
    if not agency_id:
        raise Forbidden("Only a partner agency's credentials can submit a referral.")
    agency = repo.get_agency(uow.session, agency_id)
    if agency is None or not agency.active:
        raise Forbidden("The agency is not registered or not active.", code="agency_inactive")
    fingerprint = request_hash(body)
    referral_id = new_uuid()
    claim: IdempotencyRecord | None = None
    if idempotency_key:
        claim, replay = _claim_key(uow, agency_id, idempotency_key, fingerprint, referral_id)
        if replay is not None:
            return replay
    if body.partner_reference:
        _refuse_duplicate(uow, agency_id, body.partner_reference)
    payload = body.model_dump(mode="json")
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
        payload=payload,
        submitted_by=principal.subject,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(referral)
    except IntegrityError:
        # A concurrent request with the same reference committed first (PostgreSQL waits for it).
        _refuse_duplicate(uow, agency_id, body.partner_reference or "")
        raise Conflict("The referral could not be stored; retry.", code="concurrent_submission") from None
    add_history(uow, referral, None, Status.SUBMITTED.value, Reason.RECEIVED.value, None)
    uow.audit(
        AuditOperation.COLLECT,
        subject_type="referral",
        subject_id=referral.id,
        justification=justification,
        recipient=None,
        detail={"legal_gateway": body.legal_gateway, "agency_id": agency_id},
    )
    uow.emit(
        ReferralSubmitted(
            referral_id=referral.id,
            agency_id=agency_id,
            partner_reference=body.partner_reference,
            domains=tuple(body.concern.domains),
            urgency=body.urgency,
            route=body.route,
            submitted_at=referral.submitted_at,
        ),
        aggregate_id=referral.id,
        subject=subject_ref(referral),
    )
    _screen_and_match(uow, settings, referral, body, today or date.today())
    response = to_public(referral, staff=False).model_dump(mode="json")
    if claim is not None:
        claim.status_code = 201
        claim.response_body = json.dumps(response)
        uow.session.add(claim)
    return Submitted(201, response)


def _claim_key(
    uow: UnitOfWork, agency_id: str, key: str, fingerprint: str, referral_id: str
) -> tuple[IdempotencyRecord | None, Submitted | None]:
    """Claim the key for this request, or replay what an earlier request with it answered.

    The claim is a row under a unique index, inserted first: a concurrent request with the same
    key waits for the winner's transaction (PostgreSQL) and then replays its committed answer.
    """
    record = repo.idempotency_record(uow.session, agency_id, key)
    if record is None:
        claim = IdempotencyRecord(
            agency_id=agency_id,
            key=key,
            request_hash=fingerprint,
            referral_id=referral_id,
            status_code=0,
            response_body="",
        )
        try:
            with uow.session.begin_nested():
                uow.session.add(claim)
            return claim, None
        except IntegrityError:
            record = repo.idempotency_record(uow.session, agency_id, key)
            if record is None:  # pragma: no cover - the winner rolled back; the client retries
                raise Conflict(
                    "The same request is in progress; retry.", code="concurrent_submission"
                ) from None
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


def _screen_and_match(
    uow: UnitOfWork, settings: ReferralSettings, referral: Referral, body: ReferralCreate, today: date
) -> None:
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
    referral.eligible = result.eligible
    referral.screening_reasons = list(result.reasons)
    matches = matching.find_matches(uow, matching.record_of_referral(referral))
    grade = overall_grade(matches)
    referral.match_grade = grade.value
    metrics.REFERRALS_SCREENED.labels(str(result.eligible).lower(), grade.value).inc()
    certain_ref = matches[0].person_ref if grade == Grade.CERTAIN else None
    referral.matched_person_ref = certain_ref
    if matches:
        uow.audit(
            AuditOperation.COMBINE,
            subject_type="referral",
            subject_id=referral.id,
            justification="matching a referral subject against people the unit knows",
            detail={"grade": grade.value, "candidates": [m.person_ref for m in matches[:5]]},
        )
    system_reason = "screening against the unit's terms of reference"
    reason = Reason.ELIGIBLE if result.eligible else Reason.NOT_ELIGIBLE
    change_status(uow, referral, Status.SCREENED, reason_code=reason.value, justification=system_reason)
    uow.emit(
        ReferralScreened(
            referral_id=referral.id,
            agency_id=referral.agency_id,
            eligible=result.eligible,
            reasons=result.reasons,
            domains=tuple(body.concern.domains),
            urgency=body.urgency,
            statutory_status=body.statutory_status,
            subject=matching.person_details(referral),
            match_grade=grade.value,
            matched_person_ref=certain_ref,
            agency_name=agency_name(uow, referral.agency_id),
        ),
        aggregate_id=referral.id,
        subject=subject_ref(referral),
    )
    if result.eligible:
        matching.queue_reviews(uow, referral, matches, settings.match_review_limit)
    else:
        note = "Not eligible: " + ", ".join(result.reasons)
        change_status(
            uow,
            referral,
            Status.DECLINED,
            reason_code=Reason.NOT_ELIGIBLE.value,
            justification=system_reason,
            note=note,
        )
    matching.remember_referral_subject(uow, referral, certain_ref)
