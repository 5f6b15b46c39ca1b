"""Known people from ranking events and earlier referrals; the match review queue (journey 1)."""

from __future__ import annotations

import json
from datetime import date

from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.testing.plugin import identity_headers
from referral_api.models import KnownPerson, KnownPersonKey
from sqlmodel import Session, select

REVIEWER = {**identity_headers("unit_supervisor", subject="user:sup"), "X-Justification": "test: review"}


def _candidate(person_ref: str = "person-77", **subject: object) -> CandidateIdentified:
    details = {
        "given_name": "Dean",
        "middle_names": "John",
        "family_name": "Marsh",
        "date_of_birth": "1991-03-14",
    }
    details.update(subject)  # type: ignore[arg-type]
    return CandidateIdentified(
        run_id="run-1",
        person_ref=person_ref,
        rank=12,
        score=812.5,
        as_of=date(2026, 3, 1),
        provisional=False,
        subject=PersonDetails.model_validate(details),
    )


def _events(env, event_type: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with Session(env.runtime.engine) as s:
        rows = s.exec(select(OutboxRecord).where(OutboxRecord.type == event_type)).all()
    return [json.loads(r.payload)["data"] for r in rows]


def test_candidate_events_are_stored_once_per_person(ref_env) -> None:
    ref_env.deliver(_candidate(), "run-1")
    ref_env.deliver(_candidate(area="Woking"), "run-2")  # a later run refreshes the same person
    ref_env.deliver(
        CandidateIdentified(
            run_id="r", person_ref="nameless", rank=1, score=1.0, as_of=date(2026, 3, 1), provisional=True
        ),
        "run-2",
    )
    with Session(ref_env.runtime.engine) as s:
        rows = s.exec(select(KnownPerson).where(KnownPerson.source == "ranking")).all()
        keys = s.exec(select(KnownPersonKey.key).where(KnownPersonKey.person_id == rows[0].id)).all()
    assert [(r.person_ref, r.area) for r in rows] == [("person-77", "Woking")]
    assert keys == ["D500:M620"]  # refreshed, not duplicated


def test_dean_marsh_probable_match_waits_for_a_reviewer_then_is_confirmed(ref_env, make_body) -> None:
    ref_env.deliver(_candidate(), "run-1")
    das = ref_env.agency()
    rid = ref_env.submit(das, make_body(partner_reference="DAS-2026-0412")).json()["id"]

    screened = _events(ref_env, "referral.screened")[0]
    assert screened["match_grade"] == "probable"
    assert screened["matched_person_ref"] is None  # nothing merged before a person looks
    assert screened["eligible"] is True

    queue = ref_env.client.get("/api/v1/match-reviews", headers=REVIEWER).json()
    assert queue["total"] == 1
    review = queue["items"][0]
    assert review["referral_id"] == rid and review["grade"] == "probable"
    assert review["subject"]["middle_names"] == "Jon"
    assert review["candidate"]["middle_names"] == "John"
    assert review["candidate"]["person_ref"] == "person-77"
    assert _events(ref_env, "referral.match_resolved") == []

    r = ref_env.client.post(
        f"/api/v1/match-reviews/{review['id']}/confirm",
        json={"note": "same DOB and address"},
        headers=REVIEWER,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["resolved_by"] == "user:sup"
    # the confirmed review still shows the candidate as the ranking knew him, not the referral's details
    assert r.json()["candidate"]["middle_names"] == "John" and r.json()["subject"]["middle_names"] == "Jon"
    shown = ref_env.client.get(f"/api/v1/match-reviews/{review['id']}", headers=REVIEWER).json()
    assert shown["candidate"]["middle_names"] == "John"
    resolved = _events(ref_env, "referral.match_resolved")
    assert len(resolved) == 1
    assert resolved[0]["person_ref"] == "person-77" and resolved[0]["referral_id"] == rid
    assert resolved[0]["subject"]["given_name"] == "Dean"
    assert resolved[0]["agency_name"] and screened["agency_name"] == resolved[0]["agency_name"]
    # the agency's own reference travels with both, so the case-service can find the person by it
    assert screened["partner_reference"] == resolved[0]["partner_reference"] == "DAS-2026-0412"
    staff_view = ref_env.client.get(f"/api/v1/referrals/{rid}", headers=REVIEWER).json()
    assert staff_view["matched_person_ref"] == "person-77"

    again = ref_env.client.post(f"/api/v1/match-reviews/{review['id']}/reject", headers=REVIEWER)
    assert again.status_code == 409 and again.json()["code"] == "review_already_resolved"
    assert ref_env.client.get("/api/v1/match-reviews", headers=REVIEWER).json()["total"] == 0


def test_rejecting_every_candidate_resolves_with_no_person(ref_env, make_body) -> None:
    ref_env.deliver(_candidate("p-a"), "run-1")
    ref_env.deliver(_candidate("p-b", middle_names=None, family_name="Marsch"), "run-1")
    a = ref_env.agency()
    rid = ref_env.submit(a, make_body()).json()["id"]
    items = ref_env.client.get("/api/v1/match-reviews", headers=REVIEWER).json()["items"]
    assert sorted(i["candidate"]["person_ref"] for i in items) == ["p-a", "p-b"]
    ref_env.client.post(f"/api/v1/match-reviews/{items[0]['id']}/reject", headers=REVIEWER)
    assert _events(ref_env, "referral.match_resolved") == []  # one candidate still open
    ref_env.client.post(f"/api/v1/match-reviews/{items[1]['id']}/reject", headers=REVIEWER)
    resolved = _events(ref_env, "referral.match_resolved")
    assert [(e["referral_id"], e["person_ref"]) for e in resolved] == [(rid, None)]


def test_a_later_referral_matches_an_earlier_referral_subject(ref_env, make_body) -> None:
    a, b = ref_env.agency(), ref_env.agency()
    first = ref_env.submit(a, make_body(subject__pnc_number="91/123456X")).json()["id"]
    ref_env.submit(b, make_body(subject__pnc_number=" 1991/0123456x ", subject__given_name="Deano"))
    screened = _events(ref_env, "referral.screened")
    assert [e["match_grade"] for e in screened] == ["none", "certain"]
    assert screened[1]["matched_person_ref"] == f"referral:{first}"
    assert ref_env.client.get("/api/v1/match-reviews", headers=REVIEWER).json()["total"] == 0


def test_withdrawal_cancels_open_reviews(ref_env, make_body) -> None:
    ref_env.deliver(_candidate(), "run-1")
    a = ref_env.agency()
    rid = ref_env.submit(a, make_body()).json()["id"]
    ref_env.client.post(f"/api/v1/referrals/{rid}/withdraw", json={"reason_code": "other"}, headers=a.headers)
    assert ref_env.client.get("/api/v1/match-reviews", headers=REVIEWER).json()["total"] == 0
    cancelled = ref_env.client.get("/api/v1/match-reviews?status=cancelled", headers=REVIEWER).json()
    assert cancelled["total"] == 1
    rv = cancelled["items"][0]["id"]
    assert ref_env.client.post(f"/api/v1/match-reviews/{rv}/confirm", headers=REVIEWER).status_code == 409


def test_ineligible_referrals_are_not_queued(ref_env, make_body) -> None:
    ref_env.deliver(_candidate(), "run-1")
    a = ref_env.agency()
    ref_env.submit(a, make_body(concern__domains=["exploitation"]))
    from referral_api.settings import EligibilityRules

    ref_env.runtime.settings.eligibility = EligibilityRules(domains=["stalking"])
    ref_env.submit(a, make_body(concern__domains=["exploitation"]))
    assert ref_env.client.get("/api/v1/match-reviews", headers=REVIEWER).json()["total"] == 1
    unknown = ref_env.client.get("/api/v1/match-reviews/nope", headers=REVIEWER)
    assert unknown.status_code == 404


def test_a_candidate_found_only_by_its_name_keys_is_graded_possible(ref_env, make_body) -> None:
    # birth dates one digit apart, family name by sound: only the indexed name keys bring it back
    ref_env.deliver(_candidate(family_name="Marsch", date_of_birth="1991-03-15"), "run-1")
    ref_env.deliver(_candidate(person_ref="other", family_name="Jones", date_of_birth="1991-03-15"), "run-1")
    rid = ref_env.submit(ref_env.agency(), make_body(partner_reference="DAS-KEYS-1")).json()["id"]
    screened = _events(ref_env, "referral.screened")[0]
    assert screened["referral_id"] == rid and screened["match_grade"] == "possible"
    queue = ref_env.client.get("/api/v1/match-reviews", headers=REVIEWER).json()
    assert [i["candidate"]["person_ref"] for i in queue["items"]] == ["person-77"]
