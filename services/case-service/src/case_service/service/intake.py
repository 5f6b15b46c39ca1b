"""Work arriving by event: referrals and ranking candidates open or extend assessments; meetings decide."""

from __future__ import annotations

from typing import Any

from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.protection import MarkState, is_marked
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain import suitability
from case_service.models import Person
from case_service.service import assessments, known, newcomers, people, retention
from case_service.service.common import created_here
from case_service.service.newcomers import NewTrigger


def _marked(uow: UnitOfWork, person_id: str) -> bool:
    """Restricted or erased (a person this event created carries no mark: not read)."""
    return not created_here(uow, person_id) and is_marked(uow.session, person_id)


def _refresh(uow: UnitOfWork, person: Person, trigger: tuple[str, dict[str, Any]]) -> None:
    """The MoPI group, once at the end of the event (the person is not marked: checked before). A
    person this event created has one assessment, opened by it with `trigger`, and a new case."""
    only = trigger if created_here(uow, person.id) else None
    retention.refresh(uow, person, erased=False, only_trigger=only)


def referral(
    uow: UnitOfWork,
    *,
    referral_id: str,
    agency_id: str,
    records_id: str | None,
    subject: PersonDetails,
    domains: tuple[str, ...],
    urgency: str,
    statutory_status: str,
    why: str,
    agency_name: str | None = None,
    partner_reference: str | None = None,
) -> None:
    """A screened (or resolved) referral: find the person, add a trigger to their open assessment.

    One read first: the referral's own mark and any person it names (by itself, its records id, its
    PNC number). A person new to the unit is created with everything the referral opens in one plain
    INSERT per kind of row (`newcomers`); a known person takes `known`'s plain statements (one read,
    the inserts, one update). What neither takes (a merged or marked person, a records id or details
    to fill in, a lost race) goes the general way, where each thing is read once: the person's mark
    here, their active case in `add_trigger` (which records the statutory status on it), their MoPI
    facts once at the end. An erased referral (its subject erased
    by reference, never known here) stays forgotten: a late or replayed event is ignored."""
    rid = records_id or subject.records_id
    seen = repo.referral_lookup(uow.session.connection(), referral_id, rid, subject.pnc_number)
    if seen.referral_mark == MarkState.ERASED:
        return
    data = {
        "domains": list(domains),
        "statutory_status": statutory_status,
        "agency_id": agency_id,
        "agency_name": agency_name,
    }
    detail = suitability.referral_detail(agency_name or agency_id, domains, urgency, statutory_status)
    trigger = NewTrigger("referral", referral_id, agency_id, detail, urgency, data, statutory_status)
    if seen.nobody:
        if newcomers.referral(
            uow,
            referral_id=referral_id,
            agency_id=agency_id,
            records_id=rid,
            subject=subject,
            trigger=trigger,
            why=why,
            partner_reference=partner_reference,
        ):
            return
    elif known.referral(
        uow,
        seen,
        referral_id=referral_id,
        agency_id=agency_id,
        records_id=records_id,
        subject=subject,
        trigger=trigger,
        why=why,
        partner_reference=partner_reference,
    ):
        return
    # The same referral again (republished, or resolved after screening) finds its person.
    earlier = repo.person(uow.session, seen.by_referral) if seen.by_referral else None
    if earlier is not None and not records_id:
        person = people.resolve(uow, earlier)
    else:
        person = people.find_or_create(
            uow, subject, records_id=records_id, source=f"referral:{referral_id}", why=why
        )
    source = f"referral:{agency_id}"
    people.add_identifier(uow, person, "referral", referral_id, source, unknown=earlier is None)
    if partner_reference:  # the agency's own reference, unique per agency: found by a search
        people.add_identifier(uow, person, "partner_reference", f"{agency_id}/{partner_reference}", source)
    if _marked(uow, person.id):  # restricted: recorded, not processed further
        return
    _, new = assessments.add_trigger(
        uow,
        person,
        source="referral",
        ref=referral_id,
        origin=agency_id,
        detail=detail,
        urgency=urgency,
        data=data,
        why=why,
        statutory_status=statutory_status,
    )
    if new:
        _refresh(uow, person, ("referral", data))


def candidate(
    uow: UnitOfWork,
    *,
    person_ref: str,
    subject: PersonDetails | None,
    run_id: str,
    rank: int,
    score: float,
    as_of: str,
    provisional: bool,
    contributions: list[dict[str, Any]],
    why: str,
) -> None:
    """A ranking candidate: find the person, add a trigger to their open assessment (none for a
    restricted or erased person).

    One read first (the mark of the records id, any person known by it or by the PNC number); a new
    person is created with everything the candidate opens by `newcomers`, a known one takes `known`'s
    plain statements, and what neither takes goes the general way."""
    pnc = subject.pnc_number if subject else None
    seen = repo.candidate_lookup(uow.session.connection(), person_ref, pnc)
    if seen.referral_mark is not None:  # the records id is restricted or erased
        return
    data = {
        "run_id": run_id,
        "rank": rank,
        "score": score,
        "as_of": as_of,
        "provisional": provisional,
        "top_contributions": contributions,
    }
    detail = suitability.ranking_detail(rank, score, as_of, contributions)
    trigger = NewTrigger("ranking", f"{run_id}:{person_ref}", run_id, detail, "normal", data)
    if seen.nobody:
        if newcomers.candidate(uow, person_ref=person_ref, subject=subject, trigger=trigger, why=why):
            return
    elif known.candidate(uow, seen, person_ref=person_ref, subject=subject, trigger=trigger, why=why):
        return
    person = people.find_or_create(uow, subject, records_id=person_ref, source=f"ranking:{run_id}", why=why)
    if _marked(uow, person.id):
        return
    _, new = assessments.add_trigger(
        uow,
        person,
        source="ranking",
        ref=f"{run_id}:{person_ref}",
        origin=run_id,
        detail=detail,
        urgency="normal",
        data=data,
        why=why,
    )
    if new:
        _refresh(uow, person, ("ranking", data))


def meeting_decision(
    uow: UnitOfWork,
    *,
    assessment_id: str,
    decision: str,
    decided_by: str,
    cohort: str | None,
    reason: str | None,
    meeting_id: str,
    default_cohort: str,
    why: str,
) -> str | None:
    """A decision recorded at a meeting. One for an unknown or already decided assessment is ignored:
    the answer says why when the caller should log it (a redelivered identical decision is silent)."""
    a = repo.assessment(uow.session, assessment_id)
    if a is None:
        return "decision for an unknown assessment, ignored"
    if a.status != "open":
        return "decision for a closed assessment, ignored" if a.decision != decision else None
    assessments.decide(
        uow,
        a.id,
        decision=decision,
        decided_by=decided_by,
        cohort=cohort,
        reason=reason,
        source=f"meeting:{meeting_id}",
        why=why,
        default_cohort=default_cohort,
    )
    return None
