"""Restriction in the referral-api (DPA 2018 s.47): what "not processed further" means here.

- a restricted person is never matched against: their known-person record is no candidate for a new
  referral (no review, no combination), whichever reference the restriction named;
- a match review about them cannot be resolved (409 `restricted`) while the restriction holds;
- the referring partner can still read the status and withdraw (its own act, which stops processing).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hhpu_shared.audit import AuditEntry
from hhpu_shared.events.contracts.case import PersonRestricted
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.testing.plugin import identity_headers
from hhpu_shared.testing.statements import Statements
from sqlmodel import Session, select

SUP = identity_headers("unit_supervisor", subject="user:sup") | {"X-Justification": "test: restriction"}


def candidate(ref: str, given: str, family: str, born: date) -> CandidateIdentified:
    subject = PersonDetails(given_name=given, family_name=family, date_of_birth=born)
    return CandidateIdentified(
        run_id="run-1",
        person_ref=ref,
        rank=1,
        score=1.0,
        as_of=date(2026, 3, 1),
        provisional=False,
        subject=subject,
    )


def grade(env: Any, rid: str) -> str | None:
    """The match grade as unit staff see it (a partner is not shown it)."""
    return env.client.get(f"/api/v1/referrals/{rid}", headers=SUP).json()["match_grade"]  # type: ignore[no-any-return]


def restricted(person_id: str, *refs: str, on: bool = True) -> PersonRestricted:
    return PersonRestricted(
        person_id=person_id,
        references=refs,
        restricted=on,
        decision_id=f"d-{person_id}-{on}",
        decided_by="user:dpo",
        reason_code="accuracy_contested",
    )


def test_a_restricted_person_is_not_matched_and_their_review_waits(ref_env: Any, make_body: Any) -> None:
    dean = ("Dean", "Marsh", date(1991, 3, 14))
    ref_env.deliver(candidate("R-DEAN", *dean), "run-1")
    agency = ref_env.agency()
    first = ref_env.submit(agency, make_body()).json()  # Dean Marsh: a probable match, queued
    review = ref_env.client.get("/api/v1/match-reviews", headers=SUP).json()["items"][0]
    assert review["referral_id"] == first["id"] and review["candidate"]["person_ref"] == "R-DEAN"

    ref_env.deliver(restricted("case-person-1", "R-DEAN"), "case-person-1")  # by the records id
    second = ref_env.submit(agency, make_body()).json()
    with Session(ref_env.runtime.engine) as s:
        combined = s.exec(select(AuditEntry).where(AuditEntry.operation == "combine")).all()
    assert "R-DEAN" not in {e.person_ref for e in combined if e.subject_id == second["id"]}
    queued = ref_env.client.get("/api/v1/match-reviews", headers=SUP).json()["items"]
    # Dean's known record is no candidate now (the first referral's own subject, not yet linked to
    # him and so not named by the restriction, still is).
    assert [q["candidate"]["person_ref"] for q in queued if q["referral_id"] == second["id"]] == [
        f"referral:{first['id']}"
    ]

    for decision in ("confirm", "reject"):
        r = ref_env.client.post(f"/api/v1/match-reviews/{review['id']}/{decision}", headers=SUP)
        assert r.status_code == 409 and r.json()["code"] == "restricted", r.text
    # The partner still follows and can withdraw its own referral.
    assert (
        ref_env.client.get(f"/api/v1/referrals/{first['id']}/status", headers=agency.headers).status_code
        == 200
    )
    w = ref_env.client.post(
        f"/api/v1/referrals/{first['id']}/withdraw",
        json={"reason_code": "no_longer_required"},
        headers=agency.headers,
    )
    assert w.status_code == 200, w.text

    ref_env.deliver(restricted("case-person-1", "R-DEAN", on=False), "case-person-1")  # lifted
    third = ref_env.submit(agency, make_body()).json()
    candidates = ref_env.client.get("/api/v1/match-reviews", headers=SUP).json()["items"]
    assert "R-DEAN" in {q["candidate"]["person_ref"] for q in candidates if q["referral_id"] == third["id"]}


def test_a_restriction_by_referral_ids_covers_those_referrals_own_subjects(
    ref_env: Any, make_body: Any
) -> None:
    agency = ref_env.agency()
    body = make_body(subject__given_name="Zed", subject__family_name="Quill", subject__middle_names=None)
    first = ref_env.submit(agency, body).json()
    other = ref_env.submit(
        agency, make_body(subject__given_name="Zed", subject__family_name="Quill", subject__middle_names=None)
    ).json()
    assert grade(ref_env, other["id"]) != "none"  # the earlier referral's subject is a known person
    ref_env.deliver(restricted("case-person-2", first["id"], other["id"]), "case-person-2")
    again = ref_env.submit(
        agency, make_body(subject__given_name="Zed", subject__family_name="Quill", subject__middle_names=None)
    ).json()
    assert grade(ref_env, again["id"]) == "none"


def test_only_candidates_graded_above_none_are_checked_for_a_mark(ref_env: Any, make_body: Any) -> None:
    """People sharing the subject's birth date come back from the lookup (tens of them in a force);
    those whose names disagree are graded none and are no candidate, so no mark is read for them."""
    born = date(1991, 3, 14)  # the subject's: Dean Marsh
    for i, (given, family) in enumerate((("Zara", "Quill"), ("Yusuf", "Orme"), ("Xena", "Pratt"))):
        ref_env.deliver(candidate(f"R-OTHER-{i}", given, family, born), f"R-OTHER-{i}")
    agency = ref_env.agency()
    seen = Statements(ref_env.runtime.engine)
    first = ref_env.submit(agency, make_body()).json()
    assert seen.reads_of("protection_mark") == 0 and grade(ref_env, first["id"]) == "none"

    ref_env.deliver(candidate("R-DEAN", "Dean", "Marsh", born), "R-DEAN")
    ref_env.deliver(restricted("case-person-9", "R-OTHER-0"), "case-person-9")  # graded none anyway
    seen.statements.clear()
    second = ref_env.submit(agency, make_body()).json()
    assert seen.reads_of("protection_mark") == 1  # Dean and the first referral's own subject, at once
    assert grade(ref_env, second["id"]) == "probable"
