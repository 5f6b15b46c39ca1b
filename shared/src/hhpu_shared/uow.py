"""Unit of work: one transaction per request or consumed event. Services never commit.

The unit of work writes outbox events and audit entries in the same transaction as the
change that caused them; it commits once at the end, or rolls back and publishes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from hhpu_shared.audit import AuditBuffer, AuditOperation
from hhpu_shared.auth import Principal
from hhpu_shared.context import client_correlation_id_var, current_correlation_id
from hhpu_shared.db import READ_ONLY
from hhpu_shared.events.envelope import Envelope, SubjectRef
from hhpu_shared.events.registry import EventData
from hhpu_shared.messaging.outbox import PendingEvent, add_events

# Subjects that stand for one person, so the subject id is the person's reference in the audit.
PERSON_SUBJECTS = frozenset({"person", "referral"})


class UnitOfWork:
    def __init__(
        self,
        session: Session,
        *,
        service: str,
        principal: Principal,
        correlation_id: str | None = None,
        causation_id: str | None = None,
    ) -> None:
        self.session = session
        self.service = service
        self.principal = principal
        self.correlation_id = correlation_id or current_correlation_id()
        self.causation_id = causation_id
        self.emitted: list[Envelope] = []
        # Audit entries are chained and inserted together just before the transaction commits.
        self.audit_buffer = AuditBuffer.of_session(session, service)

    def emit(self, data: EventData, *, aggregate_id: str, subject: SubjectRef | None = None) -> Envelope:
        return self.emit_many((PendingEvent(data, aggregate_id, subject),))[0]

    def emit_many(self, items: Sequence[PendingEvent]) -> list[Envelope]:
        """Several events in one INSERT, in the order given (as that many `emit` calls would)."""
        envs = add_events(
            self.session,
            items,
            producer=self.service,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
        )
        self.emitted.extend(envs)
        return envs

    def audit(
        self,
        operation: AuditOperation,
        *,
        subject_type: str,
        subject_id: str,
        justification: str,
        recipient: str | None = None,
        detail: dict[str, Any] | None = None,
        person_ref: str | None = None,
    ) -> None:
        """One audit entry, about one person (`person_ref`) or about no single person. A "person"
        subject is its own reference, and a "referral" is about one person, its subject."""
        if person_ref is None and subject_type in PERSON_SUBJECTS:
            person_ref = subject_id
        self.audit_people(
            operation,
            (person_ref,),
            subject_type=subject_type,
            subject_id=subject_id,
            justification=justification,
            recipient=recipient,
            detail=detail,
        )

    def audit_people(
        self,
        operation: AuditOperation,
        person_refs: Iterable[str | None],
        *,
        subject_type: str,
        subject_id: str,
        justification: str,
        recipient: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        """One audit entry per person shown (a list, an agenda, a pack); bulk-inserted at commit."""
        return self.audit_buffer.add(
            operation=operation,
            principal=self.principal,
            subject_type=subject_type,
            subject_id=subject_id,
            justification=justification,
            person_refs=person_refs,
            recipient=recipient,
            correlation_id=self.correlation_id,
            client_correlation_id=client_correlation_id_var.get(),
            detail=detail,
        )


@contextmanager
def unit_of_work(
    engine: Engine,
    *,
    service: str,
    principal: Principal,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    on_commit: Callable[[], None] | None = None,
    read_only: bool = False,
) -> Iterator[UnitOfWork]:
    """Open a session, yield a unit of work, commit on success, roll back on error.

    `read_only`: the work only reads (on SQLite it never waits for the write lock)."""
    session = Session(engine, expire_on_commit=False)
    if read_only:
        session.connection(execution_options=READ_ONLY)
    uow = UnitOfWork(
        session,
        service=service,
        principal=principal,
        correlation_id=correlation_id,
        causation_id=causation_id,
    )
    try:
        yield uow
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    if on_commit is not None and uow.emitted:
        on_commit()
