"""Events the referral-api consumes: ranking candidates (known people) and assessment decisions."""

from __future__ import annotations

from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened, AssessmentTriggerAdded
from hhpu_shared.events.contracts.common import Trigger
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.consumer import HandlerRegistry
from hhpu_shared.uow import UnitOfWork

from referral_api import service
from referral_api.service_matching import remember_candidate

handlers = HandlerRegistry()


@handlers.handles(CandidateIdentified)
def on_candidate_identified(uow: UnitOfWork, data: CandidateIdentified, envelope: Envelope) -> None:
    """A ranking candidate becomes a known person that later referrals are matched against."""
    remember_candidate(uow.session, data)


def _referral_triggers(triggers: tuple[Trigger, ...]) -> list[str]:
    return [t.ref for t in triggers if t.source == "referral"]


@handlers.handles(AssessmentOpened)
def on_assessment_opened(uow: UnitOfWork, data: AssessmentOpened, envelope: Envelope) -> None:
    """An assessment triggered by a referral puts the referral under assessment."""
    for referral_id in _referral_triggers(data.triggers):
        service.apply_assessment_opened(uow, referral_id, data.assessment_id)


@handlers.handles(AssessmentTriggerAdded)
def on_trigger_added(uow: UnitOfWork, data: AssessmentTriggerAdded, envelope: Envelope) -> None:
    """A referral added to an open assessment (the person was already a candidate) is under assessment."""
    for referral_id in _referral_triggers((data.trigger,)):
        service.apply_assessment_opened(uow, referral_id, data.assessment_id)


@handlers.handles(AssessmentDecided)
def on_assessment_decided(uow: UnitOfWork, data: AssessmentDecided, envelope: Envelope) -> None:
    """adopt -> accepted, decline -> declined, defer -> a history note; repeats change nothing."""
    for referral_id in data.referral_ids:
        service.apply_decision(uow, referral_id, data.decision, data.reason)
