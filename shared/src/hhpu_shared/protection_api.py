"""Every service's data protection endpoints and event handlers, declared once.

- ``GET /api/v1/audit/<service>``: the service's audit trail by person, user, time and operation,
  as JSON pages or CSV (data protection officer and supervisors; the query is itself audited);
- ``GET /api/v1/audit/<service>/verify``: the hash chain checked end to end;
- ``GET /api/v1/audit/<service>/references?person=<ref>``: every reference of the person the
  service knows (for an audit query by person; audited as a consultation, not a disclosure);
- ``GET /api/v1/subject-access/<service>?person=<ref>``: everything the service holds on a person
  with the audit of who consulted it and to whom it was disclosed (DPA 2018 s.45);
- ``person.erased`` / ``person.restricted`` handlers (s.47): the service's own ``erase`` hook
  deletes or anonymises, its outbox rows about the person go (``outbox_care``), a mark keeps the
  person from coming back or being processed, and the erasure itself is audited with who decided
  it and why.

The gateway routes ``/api/v1/audit/<service>[/...]`` and ``/api/v1/subject-access/<service>`` to that
service, and answers ``/api/v1/audit`` and ``/api/v1/subject-access`` itself by asking all four
(``gateway.fanout``); ``hhpu audit`` and ``hhpu sar`` use those.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import col, select

from hhpu_shared.audit import AuditEntry, AuditLink, AuditOperation, entries_csv, verify_chain
from hhpu_shared.auth import DATA_PROTECTION_ROLES, Principal
from hhpu_shared.errors import NotFound, ValidationProblem, field_error
from hhpu_shared.events.contracts.case import PersonErased, PersonRestricted
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep, own_service, require_roles
from hhpu_shared.messaging.consumer import HandlerRegistry
from hhpu_shared.messaging.outbox_care import scrub_outbox
from hhpu_shared.protection import MarkState, lift_restriction, marks, set_mark
from hhpu_shared.uow import UnitOfWork

Export = Callable[[UnitOfWork, list[str]], dict[str, Any]]
Erase = Callable[[UnitOfWork, list[str]], dict[str, int]]
Operation = Literal["collect", "alter", "consult", "disclose", "combine", "erase", "restrict"]
DataProtector = Annotated[Principal, Depends(require_roles(*DATA_PROTECTION_ROLES))]
MAX_REFS = 50


def _same(_uow: UnitOfWork, refs: list[str]) -> list[str]:
    return refs


@dataclass(frozen=True)
class DataProtectionHooks:
    """What a service holds on a person (`export`), how it forgets them (`erase`) and, optionally,
    every reference of the person it can find from one (`resolve`, for the audit lookup) and what it
    stops doing when their processing is restricted (`restrict(uow, refs, restricted)`, beyond the
    mark every service checks; returns counts for the audit)."""

    export: Export
    erase: Erase
    resolve: Callable[[UnitOfWork, list[str]], list[str]] = _same
    restrict: Callable[[UnitOfWork, list[str], bool], dict[str, int]] | None = None


class AuditEntryPublic(BaseModel):
    id: int
    at: datetime
    service: str
    operation: str
    actor: str
    actor_kind: str
    actor_agency: str | None
    subject_type: str
    subject_id: str
    person_ref: str | None
    justification: str
    recipient: str | None
    correlation_id: str | None
    client_correlation_id: str | None
    detail: dict[str, Any] | None
    row_hash: str = Field(description="sha256 of the entry's fields")
    chain_seq: int | None = Field(description="the entry's place in the chain (commit order)")
    entry_hash: str | None = Field(description="the chain's link: sha256 of the previous link and row_hash")

    @classmethod
    def of(cls, e: AuditEntry, link: AuditLink | None) -> AuditEntryPublic:
        data = e.model_dump()
        data["detail"] = json.loads(e.detail) if e.detail else None
        data["chain_seq"], data["entry_hash"] = (link.seq, link.entry_hash) if link else (None, None)
        return cls.model_validate(data)


class ChainPublic(BaseModel):
    service: str
    ok: bool
    checked: int
    first_bad_id: int | None
    reason: str | None
    head: str


class SubjectAccessPublic(BaseModel):
    """Everything one service holds on a person, and who consulted it or was told it."""

    service: str
    references: list[str] = Field(description="the person's references this service knows")
    marks: dict[str, str] = Field(description="reference -> restricted or erased, where marked")
    data: dict[str, Any] = Field(description="what the service holds, by kind of record")
    audit: list[AuditEntryPublic]


def _service(request: Request, service: str) -> str:
    return own_service(request, service, "audit")


def _refs(person: list[str] | None) -> list[str]:
    refs = [p.strip() for p in person or [] if p.strip()]
    if len(refs) > MAX_REFS:
        raise ValidationProblem([field_error("person", "too_many", f"at most {MAX_REFS} references")])
    return list(dict.fromkeys(refs))


def query_audit(
    uow: UnitOfWork,
    *,
    refs: list[str],
    user: str | None,
    operation: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[AuditEntryPublic], int]:
    """Entries matching every filter given, oldest first, each with its link in the chain."""
    if since and until and since > until:
        raise ValidationProblem([field_error("since", "after_until", "since must not be after until")])
    conds: list[Any] = []
    if refs:
        conds.append(col(AuditEntry.person_ref).in_(refs) | col(AuditEntry.subject_id).in_(refs))
    if user:
        conds.append(AuditEntry.actor == user)
    if operation:
        conds.append(AuditEntry.operation == operation)
    if since:
        conds.append(col(AuditEntry.at) >= since)
    if until:
        conds.append(col(AuditEntry.at) <= until)
    s = uow.session
    total = s.exec(select(func.count()).select_from(AuditEntry).where(*conds)).one()
    rows = s.exec(
        select(AuditEntry, AuditLink)
        .join(AuditLink, col(AuditLink.entry_id) == col(AuditEntry.id), isouter=True)
        .where(*conds)
        .order_by(col(AuditEntry.id))
        .limit(limit)
        .offset(offset)
    ).all()
    return [AuditEntryPublic.of(entry, link) for entry, link in rows], int(total)


def _csv(rows: list[AuditEntryPublic]) -> str:
    return entries_csv(r.model_dump(mode="json") for r in rows)


def audit_router() -> APIRouter:
    router = APIRouter(tags=["data protection"])

    @router.get("/audit/{service}", response_model=Page[AuditEntryPublic])
    def read_audit(
        service: str,
        request: Request,
        _: DataProtector,  # first: a refused role is 403 whatever else is missing (no 422 for it)
        uow: UoWDep,
        page: PageDep,
        why: JustificationDep,
        person: Annotated[
            list[str] | None, Query(max_length=MAX_REFS, description="person reference(s)")
        ] = None,
        user: Annotated[str | None, Query(max_length=128, description="who consulted or changed")] = None,
        operation: Operation | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
    ) -> Any:
        """This service's audit trail (s.62): who collected, changed, consulted, disclosed, combined or
        erased whose data, when and why, oldest first; `format=csv` for a complaint or a court. The
        query is itself audited."""
        _service(request, service)
        refs = _refs(person)
        items, total = query_audit(
            uow,
            refs=refs,
            user=user,
            operation=operation,
            since=since,
            until=until,
            limit=page.limit,
            offset=page.offset,
        )
        uow.audit_people(
            AuditOperation.CONSULT,
            refs or [None],
            subject_type="audit_log",
            subject_id=service,
            justification=why,
            detail={"user": user, "operation": operation, "entries": len(items), "format": format},
        )
        if format == "csv":
            headers = {"Content-Disposition": f'attachment; filename="audit-{service}.csv"'}
            return Response(_csv(items), media_type="text/csv", headers=headers)
        return Page.of(items, total, page)

    @router.get("/audit/{service}/verify", response_model=ChainPublic)
    def verify_audit(service: str, request: Request, _: DataProtector, uow: UoWDep) -> ChainPublic:
        """Recompute the audit's hash chain: a row changed, removed or inserted is reported."""
        own = _service(request, service)
        r = verify_chain(uow.session)
        return ChainPublic(
            service=own, ok=r.ok, checked=r.checked, first_bad_id=r.first_bad_id, reason=r.reason, head=r.head
        )

    return router


class ReferencesPublic(BaseModel):
    service: str
    references: list[str]


def subject_access_router(hooks: DataProtectionHooks) -> APIRouter:
    router = APIRouter(tags=["data protection"])

    @router.get("/audit/{service}/references", response_model=ReferencesPublic)
    def person_references(
        service: str,
        request: Request,
        _: DataProtector,  # first: a refused role is 403 whatever else is missing
        uow: UoWDep,
        why: JustificationDep,
        person: Annotated[
            list[str], Query(min_length=1, max_length=MAX_REFS, description="person reference(s)")
        ],
    ) -> ReferencesPublic:
        """Every reference this service knows the person by (the references given first): what an
        audit query by person needs, and nothing else (no name, no record). Audited as a consultation
        of each reference, not as a disclosure; a person it does not know is only echoed back (nothing
        consulted, nothing written)."""
        own = _service(request, service)
        given = _refs(person)
        if not given:
            raise ValidationProblem([field_error("person", "required", "give the person's reference")])
        found = hooks.resolve(uow, given)
        refs = list(dict.fromkeys([*given, *found]))
        if found:
            uow.audit_people(
                AuditOperation.CONSULT,
                refs,
                subject_type="person_references",
                subject_id=own,
                justification=why,
            )
        return ReferencesPublic(service=own, references=refs)

    @router.get("/subject-access/{service}", response_model=SubjectAccessPublic)
    def subject_access(
        service: str,
        request: Request,
        _: DataProtector,  # first: a refused role is 403 whatever else is missing
        uow: UoWDep,
        why: JustificationDep,
        person: Annotated[
            list[str], Query(min_length=1, max_length=MAX_REFS, description="person reference(s)")
        ],
    ) -> dict[str, Any]:
        """Everything this service holds on a person (s.45), with the audit of who consulted it and to
        whom it was disclosed. 404 when the service holds nothing and has logged nothing on them."""
        own = _service(request, service)
        refs = _refs(person)
        if not refs:
            raise ValidationProblem([field_error("person", "required", "give the person's reference")])
        refs = list(dict.fromkeys([*refs, *hooks.resolve(uow, refs)]))
        data = hooks.export(uow, refs)
        trail, _total = query_audit(
            uow, refs=refs, user=None, operation=None, since=None, until=None, limit=10_000, offset=0
        )
        if not any(data.values()) and not trail:
            raise NotFound("This service holds nothing on that person.")
        uow.audit_people(
            AuditOperation.DISCLOSE,
            refs,
            subject_type="subject_access",
            subject_id=own,
            justification=why,
            recipient="the data subject (subject access request)",
        )
        return {
            "service": own,
            "references": refs,
            "marks": marks(uow.session, refs),
            "data": data,
            "audit": [e.model_dump(mode="json") for e in trail],
        }

    return router


def apply_erasure(uow: UnitOfWork, hooks: DataProtectionHooks, d: PersonErased) -> dict[str, int]:
    """Erase the person here: the service's hook, its outbox rows about them (the events it sent
    carried their name), a mark against their return, the audit of it."""
    refs = [r for r in dict.fromkeys((d.person_id, *d.references)) if r]
    removed = {**hooks.erase(uow, refs), "outbox_events": scrub_outbox(uow.session, refs)}
    set_mark(
        uow.session,
        refs,
        MarkState.ERASED,
        decided_by=d.decided_by,
        reason_code=d.reason_code,
        decision_id=d.decision_id,
    )
    uow.audit_people(
        AuditOperation.ERASE,
        refs,
        subject_type="person",
        subject_id=d.person_id,
        justification=f"{d.reason_code}: {d.reason}",
        detail={"decided_by": d.decided_by, "decision_id": d.decision_id, "removed": removed},
    )
    return removed


def apply_restriction(uow: UnitOfWork, d: PersonRestricted, hooks: DataProtectionHooks | None = None) -> None:
    """Mark (or unmark) the person here, let the service set aside what it holds on them (its
    `restrict` hook), and audit it with who decided and why."""
    refs = [r for r in dict.fromkeys((d.person_id, *d.references)) if r]
    if d.restricted:
        set_mark(
            uow.session,
            refs,
            MarkState.RESTRICTED,
            decided_by=d.decided_by,
            reason_code=d.reason_code,
            decision_id=d.decision_id,
        )
    else:
        for r in refs:
            lift_restriction(uow.session, r)
    held = hooks.restrict(uow, refs, d.restricted) if hooks is not None and hooks.restrict else {}
    uow.audit_people(
        AuditOperation.RESTRICT,
        refs,
        subject_type="person",
        subject_id=d.person_id,
        justification=f"{d.reason_code}: {'restricted' if d.restricted else 'restriction lifted'}",
        detail={"decided_by": d.decided_by, "decision_id": d.decision_id, "restricted": d.restricted, **held},
    )


def register_protection_handlers(handlers: HandlerRegistry, hooks: DataProtectionHooks) -> None:
    """The consumer side of erasure and restriction, for a service that does not decide them."""

    @handlers.handles(PersonErased)
    def on_person_erased(uow: UnitOfWork, d: PersonErased, env: Envelope) -> None:
        apply_erasure(uow, hooks, d)

    @handlers.handles(PersonRestricted)
    def on_person_restricted(uow: UnitOfWork, d: PersonRestricted, env: Envelope) -> None:
        apply_restriction(uow, d, hooks)
