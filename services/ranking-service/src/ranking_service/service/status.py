"""What the case-service tells us about a person (by records id): managed, under assessment, decided.

The candidate events of a production run skip people who are managed or under assessment, and
people declined recently (``service.runs``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from hhpu_shared.uow import UnitOfWork

from ranking_service import repository as repo
from ranking_service.models import RankPersonStatus


def _update(uow: UnitOfWork, records_id: str | None, **changes: object) -> None:
    if not records_id:
        return  # a person the records system does not know: nothing to track here
    st = repo.status(uow.session, records_id) or RankPersonStatus(records_id=records_id)
    for k, v in changes.items():
        setattr(st, k, v)
    st.updated_at = datetime.now(UTC)
    uow.session.add(st)


def case_adopted(uow: UnitOfWork, records_id: str | None, case_id: str) -> None:
    _update(uow, records_id, managed=True, case_id=case_id)


def case_exited(uow: UnitOfWork, records_id: str | None, case_id: str) -> None:
    st = repo.status(uow.session, records_id) if records_id else None
    if st is not None and st.case_id not in (None, case_id):
        return  # an older case closed; the person is still managed under another
    _update(uow, records_id, managed=False, case_id=None)


def assessment_opened(uow: UnitOfWork, records_id: str | None, assessment_id: str) -> None:
    _update(uow, records_id, open_assessment_id=assessment_id)


def assessment_decided(
    uow: UnitOfWork, records_id: str | None, assessment_id: str, decision: str, decided_at: datetime
) -> None:
    st = repo.status(uow.session, records_id) if records_id else None
    open_id = None if st is None or st.open_assessment_id == assessment_id else st.open_assessment_id
    if decision == "defer" and st is not None:
        open_id = st.open_assessment_id  # deferred: the assessment stays open
    at = decided_at if decided_at.tzinfo else decided_at.replace(tzinfo=UTC)
    _update(uow, records_id, open_assessment_id=open_id, last_decision=decision, last_decided_at=at)


def assessment_closed(
    uow: UnitOfWork, records_id: str | None, assessment_id: str, merged_into: str | None
) -> None:
    """Closed undecided: withdrawn (no longer under assessment, may be named again) or merged (under
    assessment still, in the assessment it was merged into)."""
    st = repo.status(uow.session, records_id) if records_id else None
    if st is None or st.open_assessment_id != assessment_id:
        return  # not the assessment we hold for this person
    _update(uow, records_id, open_assessment_id=merged_into)
