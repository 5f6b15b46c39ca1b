"""What the referral-api holds on a person (their referrals, by referral id, and the known-person
record matching uses) and how it erases them.

Erasure keeps each referral as a record that a referral was made (agency, dates, status, history)
but irreversibly removes the subject's names, date of birth, identifiers, concern, the legal
gateway's free text and the partner's own reference, the notes of its status history and match
reviews (a pending review is cancelled); the stored idempotent response and the known-person
record are deleted. References may be a case person's (with its referral ids and records id) or,
for a person the case-service never held, a referral id or a records id alone.
"""

from __future__ import annotations

from typing import Any

from hhpu_shared.uow import UnitOfWork

from referral_api import repository as repo
from referral_api.domain.matching import REFERRAL_PERSON_PREFIX
from referral_api.models import now_utc

ERASED = "[erased]"


def _known(refs: list[str]) -> list[str]:
    return refs + [REFERRAL_PERSON_PREFIX + r for r in refs]


def export(uow: UnitOfWork, refs: list[str]) -> dict[str, Any]:
    s = uow.session
    referrals = repo.referrals_by_ids(s, refs)
    known = repo.known_people_of(s, _known(refs), refs)
    history = repo.history_of_referrals(s, refs)
    return {
        "referrals": [
            {
                "id": r.id,
                "agency_id": r.agency_id,
                "status": r.status,
                "submitted_at": r.submitted_at.isoformat(),
                "submission": r.payload,
            }
            for r in referrals
        ],
        "status_history": [h.model_dump(mode="json") for h in history],
        "known_person_records": [k.model_dump(mode="json", exclude={"soundex_key"}) for k in known],
    }


def erase(uow: UnitOfWork, refs: list[str]) -> dict[str, int]:
    s = uow.session
    referrals = repo.referrals_by_ids(s, refs)
    for r in referrals:
        payload = dict(r.payload)
        payload["subject"] = {
            "given_name": ERASED,
            "family_name": ERASED,
            "aliases": [],
            "other_identifiers": [],
        }
        concern = dict(payload.get("concern") or {})
        concern.update(reason=ERASED, evidence_summary=ERASED, offence_types=[])
        # The gateway's own words may name the subject; "other" still needs some (schemas.py).
        gateway_detail = ERASED if payload.get("legal_gateway_detail") else None
        payload.update(
            concern=concern,
            risk_indicators=[],
            partner_reference=None,
            mappa=None,
            legal_gateway_detail=gateway_detail,
        )
        r.payload = payload
        r.subject_given_name = r.subject_family_name = ERASED
        r.subject_dob = None
        r.partner_reference = None
        r.matched_person_ref = None
        r.outcome_note = None
        s.add(r)
    ids = [r.id for r in referrals]
    history = repo.history_of_referrals(s, ids)
    for h in history:
        h.note = None
        s.add(h)
    reviews = repo.reviews_of_referrals(s, ids)
    for rv in reviews:
        rv.note, rv.candidate_person_ref = None, ERASED  # nothing links the subject to a known person
        if rv.status == "pending":  # nobody is to confirm a match for an erased subject
            rv.status, rv.resolved_at = "cancelled", now_utc()
        s.add(rv)
    idem = repo.delete_idempotency_records(s, ids)
    known = repo.delete_known_people(s, _known(refs), refs)
    s.flush()
    return {
        "referrals_anonymised": len(ids),
        "history_notes": len(history),
        "match_reviews": len(reviews),
        "idempotency_records": idem,
        "known_people": known,
    }
