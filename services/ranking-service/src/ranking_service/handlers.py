"""Events consumed from the case-service: who is managed or under assessment (by records id)."""

from __future__ import annotations

from datetime import UTC, datetime

from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened, CaseAdopted, CaseExited
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.consumer import HandlerRegistry
from hhpu_shared.uow import UnitOfWork

from ranking_service import repository as repo

handlers = HandlerRegistry()


def _save(uow: UnitOfWork, records_id: str | None, **changes: object) -> None:
    if not records_id:
        return  # a person the records system does not know: nothing to track here
    st = repo.status(uow.session, records_id)
    for k, v in changes.items():
        setattr(st, k, v)
    st.updated_at = datetime.now(UTC)
    uow.session.add(st)


@handlers.handles(CaseAdopted)
def on_case_adopted(uow: UnitOfWork, d: CaseAdopted, env: Envelope) -> None:
    _save(uow, d.records_id, managed=True, case_id=d.case_id)


@handlers.handles(CaseExited)
def on_case_exited(uow: UnitOfWork, d: CaseExited, env: Envelope) -> None:
    st = repo.status(uow.session, d.records_id) if d.records_id else None
    if st is not None and st.case_id not in (None, d.case_id):
        return  # an older case closed; the person is still managed under another
    _save(uow, d.records_id, managed=False, case_id=None)


@handlers.handles(AssessmentOpened)
def on_assessment_opened(uow: UnitOfWork, d: AssessmentOpened, env: Envelope) -> None:
    _save(uow, d.records_id, open_assessment_id=d.assessment_id)


@handlers.handles(AssessmentDecided)
def on_assessment_decided(uow: UnitOfWork, d: AssessmentDecided, env: Envelope) -> None:
    st = repo.status(uow.session, d.records_id) if d.records_id else None
    open_id = None if st is None or st.open_assessment_id == d.assessment_id else st.open_assessment_id
    if d.decision == "defer" and st is not None:
        open_id = st.open_assessment_id  # deferred: the assessment stays open
    decided_at = env.occurred_at if env.occurred_at.tzinfo else env.occurred_at.replace(tzinfo=UTC)
    _save(uow, d.records_id, open_assessment_id=open_id, last_decision=d.decision, last_decided_at=decided_at)
