"""Audit trail for Data Protection Act 2018 s.62 (logging in automated processing systems).

Every collection, alteration, consultation, disclosure, combination and erasure of personal
data is recorded with who did it, when, why and, for disclosures, to whom. The table is
append-only by convention: nothing in the platform updates or deletes its rows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Integer, Text
from sqlmodel import Field, Session, SQLModel

from hhpu_shared import metrics

if TYPE_CHECKING:
    from hhpu_shared.auth import Principal


class AuditOperation(StrEnum):
    COLLECT = "collect"
    ALTER = "alter"
    CONSULT = "consult"
    DISCLOSE = "disclose"
    COMBINE = "combine"
    ERASE = "erase"


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    at: datetime = Field(default_factory=lambda: datetime.now(UTC), index=True)
    service: str = Field(max_length=64)
    operation: str = Field(max_length=16, index=True)
    actor: str = Field(max_length=128, index=True)
    actor_kind: str = Field(max_length=32)
    actor_agency: str | None = Field(default=None, max_length=64)
    subject_type: str = Field(max_length=64)
    subject_id: str = Field(max_length=128, index=True)
    justification: str = Field(max_length=500)
    recipient: str | None = Field(default=None, max_length=128)
    correlation_id: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(default=None, sa_column=Column(Text))


def write_audit(
    session: Session,
    *,
    service: str,
    operation: AuditOperation,
    principal: Principal,
    subject_type: str,
    subject_id: str,
    justification: str,
    recipient: str | None = None,
    correlation_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the current transaction (so it commits with the change)."""
    if not justification.strip():
        raise ValueError("an audit entry needs a justification")
    entry = AuditEntry(
        service=service,
        operation=operation.value,
        actor=principal.subject,
        actor_kind=principal.kind,
        actor_agency=principal.agency_id,
        subject_type=subject_type,
        subject_id=subject_id,
        justification=justification[:500],
        recipient=recipient,
        correlation_id=correlation_id,
        detail=json.dumps(detail, default=str) if detail else None,
    )
    session.add(entry)
    metrics.AUDIT_ENTRIES.labels(service, operation.value).inc()
    return entry
