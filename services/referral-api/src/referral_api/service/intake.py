"""Referral intake: idempotent, duplicate-checked, screened and matched in the receiving request."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from hhpu_shared import clock
from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import Conflict, Forbidden, Unprocessable
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.referral import ReferralScreened, ReferralSubmitted
from hhpu_shared.events.envelope import SubjectRef
from hhpu_shared.messaging.outbox import PendingEvent
from hhpu_shared.uow import UnitOfWork

from referral_api import metrics
from referral_api import repository as repo
from referral_api.domain.lifecycle import Reason, Status
from referral_api.domain.matching import Grade, MatchResult, overall_grade
from referral_api.domain.screening import ScreeningInput, screen
from referral_api.models import Referral, new_uuid, now_utc
from referral_api.schemas import ReferralCreate
from referral_api.service import matching
from referral_api.service.common import public_of
from referral_api.service.lifecycle import history_row, transition_records
from referral_api.settings import ReferralSettings


@dataclass(frozen=True)
class Submitted:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


def request_hash(body: ReferralCreate) -> str:
    return _payload_hash(body.model_dump(mode="json"))


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
    every step go in with it, one multi-row INSERT each. Screening needs no database, so the answer
    is known before the claim, which is inserted with it (no second write to the claim), in the
    agency's check (one statement on PostgreSQL). Every statement is Core, built once
    (``repository``): no ORM object is made or flushed.
    """
    principal = uow.principal
    agency_id = principal.agency_id
    if not agency_id:
        raise Forbidden("Only a partner agency's credentials can submit a referral.")
    payload = body.model_dump(mode="json")
    referral = _screened_row(settings, body, payload, agency_id, principal.subject, today or clock.today())
    response = public_of(referral, staff=False).model_dump(mode="json")
    claim = None
    if idempotency_key:
        fingerprint = _payload_hash(payload)
        claim = _claim_values(agency_id, idempotency_key, fingerprint, referral["id"], response)
        agency, claimed = repo.agency_and_claim(uow.session, claim)
    else:
        agency, claimed = repo.agency_brief(uow.session, agency_id), True
    if agency is None or not agency.active:
        raise Forbidden("The agency is not registered or not active.", code="agency_inactive")
    if claim is not None and not claimed:
        return _replay(uow, agency_id, claim["key"], claim["request_hash"])
    details = matching.details_of(payload["subject"])
    matches = matching.find_matches(uow, matching.record_of(details))
    grade = overall_grade(matches)
    certain_ref = matches[0].person_ref if grade == Grade.CERTAIN else None
    referral.update(match_grade=grade.value, matched_person_ref=certain_ref)
    metrics.REFERRALS_SCREENED.labels(str(referral["eligible"]).lower(), grade.value).inc()
    if repo.insert_new(uow.session, Referral, referral, ("agency_id", "partner_reference")) is None:
        _refuse_duplicate(uow, agency_id, body.partner_reference or "")
        raise Conflict("The referral could not be stored; retry.", code="concurrent_submission")
    outcome = _Outcome(matches, grade, certain_ref, details, agency.name)
    _record(uow, settings, referral, body, justification, outcome)
    return Submitted(201, response)


def _payload_hash(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _screened_row(
    settings: ReferralSettings,
    body: ReferralCreate,
    payload: dict[str, Any],
    agency_id: str,
    submitted_by: str,
    today: date,
) -> dict[str, Any]:
    """The referral's row in its final status (screening needs no database; matching comes later)."""
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
    now = now_utc()
    if result.eligible:
        status, reason, note = Status.SCREENED, Reason.ELIGIBLE, None
    else:
        status, reason = Status.DECLINED, Reason.NOT_ELIGIBLE
        note = ("Not eligible: " + ", ".join(result.reasons))[:2000]
    return {
        "id": new_uuid(),
        "agency_id": agency_id,
        "partner_reference": body.partner_reference,
        "status": status.value,
        "status_reason": reason.value,
        "outcome_note": note,
        "subject_given_name": body.subject.given_name,
        "subject_family_name": body.subject.family_name,
        "subject_dob": body.subject.date_of_birth,
        "domains_key": "," + ",".join(body.concern.domains) + ",",
        "urgency": body.urgency,
        "route": body.route,
        "statutory_status": body.statutory_status,
        "legal_gateway": body.legal_gateway,
        "payload": payload,
        "eligible": result.eligible,
        "screening_reasons": list(result.reasons),
        "match_grade": None,
        "matched_person_ref": None,
        "submitted_by": submitted_by,
        "submitted_at": now,
        "updated_at": now,
    }


def _claim_values(
    agency_id: str, key: str, fingerprint: str, referral_id: str, response: dict[str, Any]
) -> dict[str, Any]:
    """The key's claim for this request, holding its answer from the start.

    The claim is a row under a unique index, inserted with the agency's check (``repo.agency_and_claim``)
    before anything else is written: a concurrent request with the same key waits for the winner's
    transaction (PostgreSQL) and then replays its committed answer. It is committed only with the
    referral (any refusal after it rolls both back).
    """
    return {
        "agency_id": agency_id,
        "key": key,
        "request_hash": fingerprint,
        "referral_id": referral_id,
        "status_code": 201,
        "response_body": json.dumps(response),
        "created_at": now_utc(),
    }


def _replay(uow: UnitOfWork, agency_id: str, key: str, fingerprint: str) -> Submitted:
    """What an earlier request with this key answered (its body must have been the same)."""
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
    return Submitted(record.status_code, json.loads(record.response_body), replayed=True)


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
    matches: list[MatchResult]
    grade: Grade
    certain_ref: str | None
    details: PersonDetails
    agency_name: str


_SYSTEM_REASON = "screening against the unit's terms of reference"


def _record(
    uow: UnitOfWork,
    settings: ReferralSettings,
    referral: dict[str, Any],
    body: ReferralCreate,
    justification: str,
    out: _Outcome,
) -> None:
    """History, events, audit, reviews and the known person of a referral just inserted; the
    same entries, in the same order, as each step written on its own."""
    rid, agency_id, eligible = referral["id"], referral["agency_id"], referral["eligible"]
    subject = SubjectRef(type="referral", id=rid)
    history = [history_row(uow, rid, None, Status.SUBMITTED.value, Reason.RECEIVED.value, None)]
    uow.audit(
        AuditOperation.COLLECT,
        subject_type="referral",
        subject_id=rid,
        justification=justification,
        recipient=None,
        detail={"legal_gateway": body.legal_gateway, "agency_id": agency_id},
    )
    submitted = ReferralSubmitted(
        referral_id=rid,
        agency_id=agency_id,
        partner_reference=body.partner_reference,
        domains=tuple(body.concern.domains),
        urgency=body.urgency,
        route=body.route,
        submitted_at=referral["submitted_at"],
    )
    events = [PendingEvent(submitted, rid, subject)]
    if out.matches:  # one entry per person combined: the referral's subject and each candidate
        uow.audit_people(
            AuditOperation.COMBINE,
            [rid, *(m.person_ref for m in out.matches[:5])],
            subject_type="referral",
            subject_id=rid,
            justification="matching a referral subject against people the unit knows",
            detail={"grade": out.grade.value, "candidates": [m.person_ref for m in out.matches[:5]]},
        )
    reason = Reason.ELIGIBLE if eligible else Reason.NOT_ELIGIBLE
    _transition(uow, referral, history, events, Status.SUBMITTED.value, Status.SCREENED, reason.value)
    screened = ReferralScreened(
        referral_id=rid,
        agency_id=agency_id,
        eligible=eligible,
        reasons=tuple(referral["screening_reasons"]),
        domains=tuple(body.concern.domains),
        urgency=body.urgency,
        statutory_status=body.statutory_status,
        subject=out.details,
        match_grade=out.grade.value,
        matched_person_ref=out.certain_ref,
        agency_name=out.agency_name,
        partner_reference=body.partner_reference,
    )
    events.append(PendingEvent(screened, rid, subject))
    reviews: list[dict[str, Any]] = []
    if eligible:  # queued in the known person's statement
        reviews = matching.review_rows(rid, out.matches, settings.match_review_limit)
    else:
        reason_code, note = Reason.NOT_ELIGIBLE.value, referral["outcome_note"]
        _transition(uow, referral, history, events, Status.SCREENED.value, Status.DECLINED, reason_code, note)
    uow.emit_many(events)
    matching.remember_referral_subject(uow, rid, out.details, out.certain_ref, history, reviews)


def _transition(
    uow: UnitOfWork,
    referral: dict[str, Any],
    history: list[dict[str, Any]],
    events: list[PendingEvent],
    current: str,
    target: Status,
    reason_code: str,
    note: str | None = None,
) -> None:
    row, event = transition_records(
        uow,
        referral["id"],
        referral["agency_id"],
        current,
        target,
        reason_code=reason_code,
        justification=_SYSTEM_REASON,
        note=note,
    )
    history.append(row)
    events.append(event)
