"""Consumed events: referrals and ranking candidates open or extend assessments; meetings decide."""

from __future__ import annotations

import logging

from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.meeting import DecisionRecorded
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.events.contracts.referral import ReferralMatchResolved, ReferralScreened
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.consumer import HandlerRegistry
from hhpu_shared.uow import UnitOfWork

from case_service import repository as repo
from case_service.domain import suitability
from case_service.service import assessments, people
from case_service.settings import CaseSettings

log = logging.getLogger("case_service.handlers")
handlers = HandlerRegistry()

REFERRAL_WHY = "automatic: suitability assessment of a screened referral (event {})"
RANKING_WHY = "automatic: suitability assessment of a ranking candidate (event {})"
DECISION_WHY = "automatic: recording a meeting decision (event {})"
WAITING_GRADES = ("probable", "possible")


def _referral(
    uow: UnitOfWork,
    env: Envelope,
    *,
    referral_id: str,
    agency_id: str,
    records_id: str | None,
    subject: PersonDetails,
    domains: tuple[str, ...],
    urgency: str,
    statutory_status: str,
) -> None:
    why = REFERRAL_WHY.format(env.event_id)
    # The same referral again (republished, or resolved after screening) finds its person.
    known = repo.person_by_identifier(uow.session, "referral", referral_id)
    if known is not None and not records_id:
        person = people.resolve(uow, known)
    else:
        person = people.find_or_create(
            uow, subject, records_id=records_id, source=f"referral:{referral_id}", why=why
        )
    people.add_identifier(uow, person, "referral", referral_id, f"referral:{agency_id}")
    a, new = assessments.add_trigger(
        uow,
        person,
        source="referral",
        ref=referral_id,
        origin=agency_id,
        detail=suitability.referral_detail(agency_id, domains, urgency, statutory_status),
        urgency=urgency,
        data={"domains": list(domains), "statutory_status": statutory_status, "agency_id": agency_id},
        why=why,
    )
    case = repo.active_case(uow.session, person.id)
    if new and case is not None and case.statutory_status is None:
        case.statutory_status = statutory_status
        case.subject_category = "suspect" if statutory_status in ("unconvicted", "none", "") else "convicted"


@handlers.handles(ReferralScreened)
def on_referral_screened(uow: UnitOfWork, d: ReferralScreened, env: Envelope) -> None:
    if not d.eligible:
        return
    if d.match_grade in WAITING_GRADES:
        return  # a reviewer resolves the match first (referral.match_resolved)
    if d.match_grade not in ("certain", "none"):
        log.warning("unknown match grade, ignored", extra={"event_id": str(env.event_id)})
        return
    _referral(
        uow,
        env,
        referral_id=d.referral_id,
        agency_id=d.agency_id,
        records_id=d.matched_person_ref if d.match_grade == "certain" else None,
        subject=d.subject,
        domains=d.domains,
        urgency=d.urgency,
        statutory_status=d.statutory_status,
    )


@handlers.handles(ReferralMatchResolved)
def on_match_resolved(uow: UnitOfWork, d: ReferralMatchResolved, env: Envelope) -> None:
    _referral(
        uow,
        env,
        referral_id=d.referral_id,
        agency_id=d.agency_id,
        records_id=d.person_ref,
        subject=d.subject,
        domains=d.domains,
        urgency=d.urgency,
        statutory_status=d.statutory_status,
    )


@handlers.handles(CandidateIdentified)
def on_candidate(uow: UnitOfWork, d: CandidateIdentified, env: Envelope) -> None:
    why = RANKING_WHY.format(env.event_id)
    person = people.find_or_create(
        uow, d.subject, records_id=d.person_ref, source=f"ranking:{d.run_id}", why=why
    )
    contributions = [c.model_dump(mode="json") for c in d.top_contributions]
    assessments.add_trigger(
        uow,
        person,
        source="ranking",
        ref=f"{d.run_id}:{d.person_ref}",
        origin=d.run_id,
        detail=suitability.ranking_detail(d.rank, d.score, d.as_of.isoformat(), contributions),
        urgency="normal",
        data={
            "run_id": d.run_id,
            "rank": d.rank,
            "score": d.score,
            "as_of": d.as_of.isoformat(),
            "provisional": d.provisional,
            "top_contributions": contributions,
        },
        why=why,
    )


@handlers.handles(DecisionRecorded)
def on_decision(uow: UnitOfWork, d: DecisionRecorded, env: Envelope) -> None:
    a = repo.assessment(uow.session, d.assessment_id)
    if a is None:
        log.warning("decision for an unknown assessment, ignored", extra={"event_id": str(env.event_id)})
        return
    if a.status != "open":
        if a.decision != d.decision:
            log.warning("decision for a closed assessment, ignored", extra={"event_id": str(env.event_id)})
        return
    assessments.decide(
        uow,
        a.id,
        decision=d.decision,
        decided_by=d.decided_by,
        cohort=d.cohort,
        reason=d.reason,
        source=f"meeting:{d.meeting_id}",
        why=DECISION_WHY.format(env.event_id),
        default_cohort=CaseSettings().default_cohort,
    )
