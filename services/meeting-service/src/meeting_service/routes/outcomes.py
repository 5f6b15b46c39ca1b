"""HTTP: outcomes and decisions, closing a meeting, addenda (the printable pack: routes/documents.py)."""

from __future__ import annotations

from fastapi import APIRouter
from hhpu_shared.audit import AuditOperation
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep
from hhpu_shared.visibility import redact

from meeting_service.routes.common import Manager, Reader, SettingsDep
from meeting_service.schemas import (
    ActionCreate,
    ActionPublic,
    AddendumCreate,
    AddendumPublic,
    CloseResult,
    OutcomeCreate,
    OutcomePublic,
)
from meeting_service.service import agenda, meetings, outcomes
from meeting_service.service.views import action_public, addenda_people, audit_people, meeting_public

router = APIRouter(tags=["outcomes and actions"])
COLLECT = AuditOperation.COLLECT


@router.post(
    "/meetings/{meeting_id}/agenda/items/{item_id}/outcomes", response_model=OutcomePublic, status_code=201
)
def record_outcome(
    meeting_id: str,
    item_id: str,
    _: Manager,
    body: OutcomeCreate,
    uow: UoWDep,
    settings: SettingsDep,
    why: JustificationDep,
) -> OutcomePublic:
    """Record information, a decision (adopt/decline/defer, with who decided; audited) or an action."""
    meeting = meetings.get_meeting(uow, meeting_id)
    item = agenda.get_item(uow, meeting, item_id)
    if body.kind == "information":
        out = outcomes.record_information(uow, meeting, item, body.text or "")
    elif body.kind == "decision":
        assert body.decision and body.decided_by  # checked by OutcomeCreate
        out = outcomes.record_decision(
            uow,
            settings,
            meeting,
            item,
            decision=body.decision,
            decided_by=body.decided_by,
            cohort=body.cohort,
            reason=body.reason,
            justification=why,
        )
    else:
        data = body.model_dump(
            include={"description", "owner_name", "owner_agency_id", "owner_subject", "due_date"}
        )
        _action, action_out = outcomes.record_action(uow, settings, meeting, item, data)
        assert action_out is not None  # an action on an item has its outcome
        out = action_out
    audit_people(
        uow, [item.person_id], subject_type="meeting_outcome", subject_id=out.id, why=why, operation=COLLECT
    )
    return redact(uow.principal, OutcomePublic.model_validate(out))


@router.get("/meetings/{meeting_id}/outcomes", response_model=Page[OutcomePublic])
def list_outcomes(
    meeting_id: str, _: Reader, uow: UoWDep, page: PageDep, why: JustificationDep
) -> Page[OutcomePublic]:
    """Information, decisions and actions recorded at the meeting (each person concerned is audited)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    rows, total = outcomes.list_outcomes(uow, meeting, page)
    items = {i.id: i for i in agenda.all_items(uow, meeting)}
    people = [items[o.item_id].person_id if o.item_id in items else None for o in rows]
    audit_people(
        uow, [p for p in people if p], subject_type="meeting_outcomes", subject_id=meeting.id, why=why
    )
    return Page.of([redact(uow.principal, OutcomePublic.model_validate(o)) for o in rows], total, page)


@router.post("/meetings/{meeting_id}/actions", response_model=ActionPublic, status_code=201)
def create_action(
    meeting_id: str, body: ActionCreate, uow: UoWDep, settings: SettingsDep, _: Manager, why: JustificationDep
) -> ActionPublic:
    """Create an action outside an agenda item (due before the next meeting by default; audited when
    it is about a person)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    action, _outcome = outcomes.record_action(uow, settings, meeting, None, body.model_dump())
    audit_people(
        uow, [action.person_id], subject_type="action", subject_id=action.id, why=why, operation=COLLECT
    )
    return action_public(uow, action)


@router.post("/meetings/{meeting_id}/close", response_model=CloseResult)
def close_meeting(meeting_id: str, uow: UoWDep, settings: SettingsDep, _: Manager) -> CloseResult:
    """Close the meeting: minutes frozen; undecided cases and unfinished actions carry over."""
    meeting = meetings.get_meeting(uow, meeting_id)
    result = outcomes.close_meeting(uow, settings, meeting)
    return CloseResult(meeting=meeting_public(uow, meeting), **result)


@router.post("/meetings/{meeting_id}/addenda", response_model=AddendumPublic, status_code=201)
def add_addendum(
    meeting_id: str, body: AddendumCreate, uow: UoWDep, _: Manager, why: JustificationDep
) -> AddendumPublic:
    """Append a correction to a closed meeting's minutes (audited for the person of its item)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    added = outcomes.add_addendum(uow, meeting, body.text, body.item_id)
    people = addenda_people(uow, meeting, [added])
    audit_people(
        uow, people, subject_type="meeting_addendum", subject_id=added.id, why=why, operation=COLLECT
    )
    return redact(uow.principal, AddendumPublic.model_validate(added))


@router.get("/meetings/{meeting_id}/addenda", response_model=Page[AddendumPublic])
def list_addenda(
    meeting_id: str, _: Reader, uow: UoWDep, page: PageDep, why: JustificationDep
) -> Page[AddendumPublic]:
    """Corrections appended after the meeting closed (each person concerned is audited; the text is
    withheld from roles that may not read narrative)."""
    meeting = meetings.get_meeting(uow, meeting_id)
    rows, total = outcomes.list_addenda(uow, meeting, page)
    audit_people(
        uow,
        addenda_people(uow, meeting, rows),
        subject_type="meeting_addenda",
        subject_id=meeting.id,
        why=why,
    )
    return Page.of([redact(uow.principal, AddendumPublic.model_validate(a)) for a in rows], total, page)
