"""Events the referral-api consumes: ranking candidates (known people) and assessment decisions."""

from __future__ import annotations

from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened, AssessmentTriggerAdded
from hhpu_shared.events.contracts.common import Trigger
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import data_of
from hhpu_shared.messaging.consumer import HandlerRegistry
from hhpu_shared.uow import UnitOfWork

from referral_api import service
from referral_api.service_matching import remember_candidate

handlers = HandlerRegistry()


@handlers.on("ranking.candidate_identified")
def on_candidate_identified(uow: UnitOfWork, envelope: Envelope) -> None:
    """A ranking candidate becomes a known person that later referrals are matched against."""
    data: CandidateIdentified = data_of(envelope, CandidateIdentified)
    remember_candidate(uow.session, data)


def _referral_triggers(triggers: tuple[Trigger, ...]) -> list[str]:
    return [t.ref for t in triggers if t.source == "referral"]


@handlers.on("assessment.opened")
def on_assessment_opened(uow: UnitOfWork, envelope: Envelope) -> None:
    """An assessment triggered by a referral puts the referral under assessment."""
    data: AssessmentOpened = data_of(envelope, AssessmentOpened)
    for referral_id in _referral_triggers(data.triggers):
        service.apply_assessment_opened(uow, referral_id, data.assessment_id)


@handlers.on("assessment.trigger_added")
def on_trigger_added(uow: UnitOfWork, envelope: Envelope) -> None:
    """A referral added to an open assessment (the person was already a candidate) is under assessment."""
    data: AssessmentTriggerAdded = data_of(envelope, AssessmentTriggerAdded)
    for referral_id in _referral_triggers((data.trigger,)):
        service.apply_assessment_opened(uow, referral_id, data.assessment_id)


@handlers.on("assessment.decided")
def on_assessment_decided(uow: UnitOfWork, envelope: Envelope) -> None:
    """adopt -> accepted, decline -> declined, defer -> a history note; repeats change nothing."""
    data: AssessmentDecided = data_of(envelope, AssessmentDecided)
    for referral_id in data.referral_ids:
        service.apply_decision(uow, referral_id, data.decision, data.reason)
