"""Known people, matching a referral's subject against them, and queueing the uncertain matches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.protection import is_marked, marks
from hhpu_shared.uow import UnitOfWork
from sqlalchemy import Row

from referral_api import repository as repo
from referral_api.domain.matching import (
    REFERRAL_PERSON_PREFIX,
    Grade,
    MatchResult,
    PersonRecord,
    Prefilter,
    best_per_person,
    grade_pair,
    name_keys,
    normalise_pnc,
)
from referral_api.models import KnownPerson, Referral, new_uuid, now_utc


def subject_of(referral: Referral) -> dict[str, Any]:
    return dict(referral.payload["subject"])


def person_details(referral: Referral) -> PersonDetails:
    return details_of(subject_of(referral))


def details_of(s: dict[str, Any]) -> PersonDetails:
    """The identifying details of a submitted subject (the ``subject`` of a referral's payload)."""
    return PersonDetails(
        given_name=s["given_name"],
        family_name=s["family_name"],
        middle_names=s.get("middle_names"),
        aliases=tuple(s.get("aliases") or ()),
        date_of_birth=s.get("date_of_birth"),
        pnc_number=s.get("pnc_number"),
        area=s.get("area"),
    )


def record_of(d: PersonDetails) -> PersonRecord:
    return PersonRecord(
        given_name=d.given_name,
        family_name=d.family_name,
        middle_names=d.middle_names,
        aliases=d.aliases,
        date_of_birth=d.date_of_birth,
        pnc_number=d.pnc_number,
    )


def record_of_known(p: Row[Any]) -> PersonRecord:
    """A candidate row of ``repo.candidate_people``."""
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


def _references(row: Row[Any]) -> list[str]:
    """The references a known person's mark may be under: the person reference (a referral's own
    subject without its prefix) and the records id."""
    ref = str(row.person_ref)
    return [ref.removeprefix(REFERRAL_PERSON_PREFIX), *([row.records_id] if row.records_id else [])]


def find_matches(uow: UnitOfWork, subject: PersonRecord) -> list[MatchResult]:
    """Fetch known people sharing a blocking key, then grade each one. A person whose processing is
    restricted (or whose data was erased) is not matched against: never a candidate (DPA 2018 s.47).
    On PostgreSQL the lookup says which rows are marked; elsewhere only the rows graded above none
    are checked for a mark, in a second read (a common birth date brings tens of rows, few of them
    graded). Rows the `Prefilter` rules out (graded none for certain) are not graded."""
    rows = repo.candidate_people(
        uow.session,
        dob=subject.date_of_birth,
        pnc=normalise_pnc(subject.pnc_number),
        records_id=subject.records_id,
        name_keys=sorted(name_keys(subject)),
    )
    pre = Prefilter(subject)
    graded = [
        (row, grade_pair(subject, record_of_known(row)))
        for row in rows
        if pre.worth_grading(row.given_name, row.family_name, row.aliases, row.pnc_number, row.records_id)
    ]
    return best_per_person(_unmarked(uow, [(row, r) for row, r in graded if r.grade != Grade.NONE]))


def _unmarked(uow: UnitOfWork, graded: list[tuple[Row[Any], MatchResult]]) -> list[MatchResult]:
    if all(row.marked is not None for row, _ in graded):  # the lookup said (PostgreSQL)
        return [r for row, r in graded if not row.marked]
    held = marks(uow.session, [ref for row, _ in graded for ref in _references(row)])
    return [r for row, r in graded if not any(ref in held for ref in _references(row))]


def _fill_known(row: KnownPerson, details: PersonDetails) -> None:
    row.given_name = details.given_name
    row.family_name = details.family_name
    row.middle_names = details.middle_names
    row.aliases = list(details.aliases)
    row.date_of_birth = details.date_of_birth
    row.pnc_number = normalise_pnc(details.pnc_number)
    row.records_id = details.records_id
    row.area = details.area
    row.updated_at = now_utc()


def _index_names(uow: UnitOfWork, row: KnownPerson) -> None:
    """Store the person's name keys (after the row has its id)."""
    uow.session.flush()
    assert row.id is not None
    rec = PersonRecord(row.given_name, row.family_name, aliases=tuple(row.aliases))
    repo.replace_name_keys(uow.session, row.id, sorted(name_keys(rec)), row.date_of_birth)


def remember_referral_subject(
    uow: UnitOfWork,
    referral_id: str,
    details: PersonDetails,
    person_ref: str | None,
    history: Sequence[dict[str, Any]] = (),
    reviews: Sequence[dict[str, Any]] = (),
) -> int:
    """Keep the subject as a known person, under the matched reference or one of its own (Core
    inserts: the row and its name keys, no objects to track); returns the row's id. The referral's
    status `history` rows and match `reviews` (`review_rows`), if any, go in the same statement
    (PostgreSQL)."""
    values = {
        "person_ref": person_ref or REFERRAL_PERSON_PREFIX + referral_id,
        "source": "referral",
        "source_id": referral_id,
        "given_name": details.given_name,
        "family_name": details.family_name,
        "middle_names": details.middle_names,
        "aliases": list(details.aliases),
        "date_of_birth": details.date_of_birth,
        "pnc_number": normalise_pnc(details.pnc_number),
        "records_id": details.records_id,
        "area": details.area,
        "updated_at": now_utc(),
    }
    rec = PersonRecord(details.given_name, details.family_name, aliases=details.aliases)
    keys = sorted(name_keys(rec))
    dob = details.date_of_birth
    return repo.insert_history_and_known_person(uow.session, history, values, keys, dob, reviews)


def remember_candidate(uow: UnitOfWork, data: CandidateIdentified) -> KnownPerson | None:
    """Store (or refresh) a ranking candidate as a known person; idempotent per person_ref. None for
    a person whose data was erased or whose processing is restricted: the candidate event travels on
    another topic than the erasure, so a late, redelivered or replayed one must not bring them back."""
    if data.subject is None or is_marked(uow.session, data.person_ref):
        return None
    row = repo.known_person_by_source(uow.session, "ranking", data.person_ref)
    if row is None:
        row = KnownPerson(
            person_ref=data.person_ref,
            source="ranking",
            source_id=data.person_ref,
            given_name="",
            family_name="",
        )
    _fill_known(row, data.subject)
    uow.session.add(row)
    _index_names(uow, row)
    return row


def review_rows(referral_id: str, results: list[MatchResult], limit: int) -> list[dict[str, Any]]:
    """The review queue's rows for the probable and possible matches (at most `limit`), pending for a
    reviewer; written with the referral's known person (`remember_referral_subject`)."""
    return [
        {
            "id": new_uuid(),
            "referral_id": referral_id,
            "candidate_person_ref": r.person_ref,
            "grade": r.grade.value,
            "score": r.score,
            "reasons": list(r.reasons),
            "status": "pending",
            "resolved_by": None,
            "resolved_at": None,
            "note": None,
            "created_at": now_utc(),  # one each, as the queue lists by creation
        }
        for r in results[:limit]
        if r.grade in (Grade.PROBABLE, Grade.POSSIBLE)
    ]


def cancel_pending_reviews(uow: UnitOfWork, referral_id: str, status: str = "cancelled") -> None:
    """Close the reviews still pending (the referral was withdrawn, or another match confirmed)."""
    for review in repo.reviews_of(uow.session, referral_id):
        if review.status == "pending":
            review.status = status
            review.resolved_at = now_utc()
            uow.session.add(review)
