"""Consumed events: referrals and ranking candidates open or extend assessments (a withdrawn referral
takes its trigger back); meetings decide.

Handlers only translate an event into a call of the service layer (service/intake.py).
"""

from __future__ import annotations

import logging

from hhpu_shared.events.contracts.meeting import DecisionRecorded
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.events.contracts.referral import ReferralMatchResolved, ReferralScreened, ReferralWithdrawn
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.consumer import HandlerRegistry
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.uow import UnitOfWork

from case_service.service import assessments, intake
from case_service.settings import CaseSettings

log = logging.getLogger("case_service.handlers")
handlers = HandlerRegistry()

REFERRAL_WHY = "automatic: suitability assessment of a screened referral (event {})"
RANKING_WHY = "automatic: suitability assessment of a ranking candidate (event {})"
DECISION_WHY = "automatic: recording a meeting decision (event {})"
WITHDRAWN_WHY = "automatic: a referral was withdrawn by its agency (event {})"
WAITING_GRADES = ("probable", "possible")

# The cohort of an adoption whose meeting named none: from the runtime's settings (see `configure`).
_config = {"default_cohort": CaseSettings.model_fields["default_cohort"].default}


def configure(runtime: ServiceRuntime) -> None:
    """ServiceSpec.prepare: the handlers read the runtime's settings, never their own."""
    settings = runtime.settings
    if isinstance(settings, CaseSettings):
        _config["default_cohort"] = settings.default_cohort


@handlers.handles(ReferralScreened)
def on_referral_screened(uow: UnitOfWork, d: ReferralScreened, env: Envelope) -> None:
    if not d.eligible:
        return
    if d.match_grade in WAITING_GRADES:
        return  # a reviewer resolves the match first (referral.match_resolved)
    if d.match_grade not in ("certain", "none"):
        log.warning("unknown match grade, ignored", extra={"event_id": str(env.event_id)})
        return
    intake.referral(
        uow,
        referral_id=d.referral_id,
        agency_id=d.agency_id,
        records_id=d.matched_person_ref if d.match_grade == "certain" else None,
        subject=d.subject,
        domains=d.domains,
        urgency=d.urgency,
        statutory_status=d.statutory_status,
        agency_name=d.agency_name,
        partner_reference=d.partner_reference,
        why=REFERRAL_WHY.format(env.event_id),
    )


@handlers.handles(ReferralMatchResolved)
def on_match_resolved(uow: UnitOfWork, d: ReferralMatchResolved, env: Envelope) -> None:
    intake.referral(
        uow,
        referral_id=d.referral_id,
        agency_id=d.agency_id,
        records_id=d.person_ref,
        subject=d.subject,
        domains=d.domains,
        urgency=d.urgency,
        statutory_status=d.statutory_status,
        agency_name=d.agency_name,
        partner_reference=d.partner_reference,
        why=REFERRAL_WHY.format(env.event_id),
    )


@handlers.handles(ReferralWithdrawn)
def on_referral_withdrawn(uow: UnitOfWork, d: ReferralWithdrawn, env: Envelope) -> None:
    """Its trigger stops counting; an assessment that nothing else keeps open closes, undecided.
    (Same topic and key as the referral's screening, so it never arrives before it.)"""
    assessments.withdraw_source(
        uow, "referral", d.referral_id, d.reason_code, WITHDRAWN_WHY.format(env.event_id)
    )


@handlers.handles(CandidateIdentified)
def on_candidate(uow: UnitOfWork, d: CandidateIdentified, env: Envelope) -> None:
    intake.candidate(
        uow,
        person_ref=d.person_ref,
        subject=d.subject,
        run_id=d.run_id,
        rank=d.rank,
        score=d.score,
        as_of=d.as_of.isoformat(),
        provisional=d.provisional,
        contributions=[c.model_dump(mode="json") for c in d.top_contributions],
        why=RANKING_WHY.format(env.event_id),
    )


@handlers.handles(DecisionRecorded)
def on_decision(uow: UnitOfWork, d: DecisionRecorded, env: Envelope) -> None:
    ignored = intake.meeting_decision(
        uow,
        assessment_id=d.assessment_id,
        decision=d.decision,
        decided_by=d.decided_by,
        cohort=d.cohort,
        reason=d.reason,
        meeting_id=d.meeting_id,
        default_cohort=_config["default_cohort"],
        why=DECISION_WHY.format(env.event_id),
    )
    if ignored:
        log.warning(ignored, extra={"event_id": str(env.event_id)})
