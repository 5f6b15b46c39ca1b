"""Events the referral-api consumes, in two consumer groups.

``handlers`` (group ``referral-api``): ranking candidates (known people) and assessment decisions.
``webhook_handlers`` (group ``referral-api-webhooks``): the service's own status changes, posted to
the referring agency, outside any database transaction; a slow or failing receiver delays only
other webhooks, never the referrals (service/webhooks.py).
"""

from __future__ import annotations

from hhpu_shared.audit import AuditOperation
from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened, AssessmentTriggerAdded
from hhpu_shared.events.contracts.common import Trigger
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.events.contracts.referral import ReferralStatusChanged
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.consumer import HandlerRegistry
from hhpu_shared.protection import MarkState, is_marked
from hhpu_shared.protection_api import DataProtectionHooks, register_protection_handlers
from hhpu_shared.uow import UnitOfWork

from referral_api.service import lifecycle, matching, protection, webhooks

handlers = HandlerRegistry()
# Subject access and erasure (person.erased / person.restricted from the case-service).
PROTECTION = DataProtectionHooks(export=protection.export, erase=protection.erase)
register_protection_handlers(handlers, PROTECTION)
# Posts to partners hold no database transaction (the runner claims a batch's events after their
# posts); status changes of agencies without a webhook cost one read per batch, no handler.
webhook_handlers = HandlerRegistry(outside_transaction=True)
webhook_handlers.prefilter_batch(webhooks.with_webhook)


@handlers.handles(CandidateIdentified)
def on_candidate_identified(uow: UnitOfWork, data: CandidateIdentified, envelope: Envelope) -> None:
    """A ranking candidate becomes a known person that later referrals are matched against (a
    collection of their name and date of birth, audited)."""
    if matching.remember_candidate(uow, data) is not None:
        uow.audit(
            AuditOperation.COLLECT,
            subject_type="person",
            subject_id=data.person_ref,
            justification="ranking candidate kept to match later referrals against",
            detail={"run_id": data.run_id, "from": envelope.producer},
        )


def _referral_triggers(triggers: tuple[Trigger, ...]) -> list[str]:
    return [t.ref for t in triggers if t.source == "referral"]


@handlers.handles(AssessmentOpened)
def on_assessment_opened(uow: UnitOfWork, data: AssessmentOpened, envelope: Envelope) -> None:
    """An assessment triggered by a referral puts the referral under assessment."""
    for referral_id in _referral_triggers(data.triggers):
        lifecycle.apply_assessment_opened(uow, referral_id, data.assessment_id)


@handlers.handles(AssessmentTriggerAdded)
def on_trigger_added(uow: UnitOfWork, data: AssessmentTriggerAdded, envelope: Envelope) -> None:
    """A referral added to an open assessment (the person was already a candidate) is under assessment."""
    for referral_id in _referral_triggers((data.trigger,)):
        lifecycle.apply_assessment_opened(uow, referral_id, data.assessment_id)


@handlers.handles(AssessmentDecided)
def on_assessment_decided(uow: UnitOfWork, data: AssessmentDecided, envelope: Envelope) -> None:
    """adopt -> accepted, decline -> declined, defer -> a history note; repeats change nothing. The
    decision's free-text reason is not kept for a referral whose subject was erased (a decision made
    before the erasure may arrive after it: another topic)."""
    for referral_id in data.referral_ids:
        reason = None if is_marked(uow.session, referral_id, MarkState.ERASED) else data.reason
        lifecycle.apply_decision(uow, referral_id, data.decision, reason)


@webhook_handlers.handles(ReferralStatusChanged)
def on_status_changed(uow: UnitOfWork, data: ReferralStatusChanged, envelope: Envelope) -> None:
    """Post the signed status webhook to the referring agency (raises while it cannot be delivered)."""
    webhooks.deliver_status_change(uow, data, envelope)
