"""Events consumed from the case-service: who is managed or under assessment (by records id)."""

from __future__ import annotations

from hhpu_shared.events.contracts.case import (
    AssessmentClosed,
    AssessmentDecided,
    AssessmentOpened,
    CaseAdopted,
    CaseExited,
)
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.consumer import HandlerRegistry
from hhpu_shared.protection_api import DataProtectionHooks, register_protection_handlers
from hhpu_shared.uow import UnitOfWork

from ranking_service.service import protection, status

handlers = HandlerRegistry()
# Subject access and erasure (person.erased / person.restricted from the case-service).
PROTECTION = DataProtectionHooks(export=protection.export, erase=protection.erase)
register_protection_handlers(handlers, PROTECTION)


@handlers.handles(CaseAdopted)
def on_case_adopted(uow: UnitOfWork, d: CaseAdopted, env: Envelope) -> None:
    status.case_adopted(uow, d.records_id, d.case_id)


@handlers.handles(CaseExited)
def on_case_exited(uow: UnitOfWork, d: CaseExited, env: Envelope) -> None:
    status.case_exited(uow, d.records_id, d.case_id)


@handlers.handles(AssessmentOpened)
def on_assessment_opened(uow: UnitOfWork, d: AssessmentOpened, env: Envelope) -> None:
    status.assessment_opened(uow, d.records_id, d.assessment_id)


@handlers.handles(AssessmentDecided)
def on_assessment_decided(uow: UnitOfWork, d: AssessmentDecided, env: Envelope) -> None:
    status.assessment_decided(uow, d.records_id, d.assessment_id, d.decision, env.occurred_at)


@handlers.handles(AssessmentClosed)
def on_assessment_closed(uow: UnitOfWork, d: AssessmentClosed, env: Envelope) -> None:
    status.assessment_closed(uow, d.records_id, d.assessment_id, d.merged_into)
