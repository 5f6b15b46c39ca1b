"""HTTP: outcomes and decisions, actions, closing, addenda and the meeting pack."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from hhpu_shared.audit import AuditOperation
from hhpu_shared.auth import Principal
from hhpu_shared.http import UoWDep, require_roles

from meeting_service.domain.pack import render_pack
from meeting_service.schemas import (
    ActionCreate,
    ActionPage,
    ActionPublic,
    ActionStatusUpdate,
    AddendumCreate,
    AddendumPublic,
    CarryOverRequest,
    CloseResult,
    OutcomeCreate,
    OutcomePublic,
    SweepResult,
)
from meeting_service.service_actions import ActionService
from meeting_service.views import (
    ANYONE,
    MANAGE,
    STAFF,
    action_public,
    agenda_public,
    justification,
    meeting_public,
    partner_agency,
    settings_of,
)

router = APIRouter(tags=["outcomes and actions"])
Manager = Annotated[Principal, Depends(require_roles(*MANAGE))]
Staff = Annotated[Principal, Depends(require_roles(*STAFF))]
Anyone = Annotated[Principal, Depends(require_roles(*ANYONE))]


def _svc(uow: Any, request: Request) -> ActionService:
    return ActionService(uow, settings_of(request))


@router.post(
    "/meetings/{meeting_id}/agenda/items/{item_id}/outcomes", response_model=OutcomePublic, status_code=201
)
def record_outcome(
    meeting_id: str, item_id: str, body: OutcomeCreate, uow: UoWDep, request: Request, _: Manager
) -> OutcomePublic:
    """Record information, a decision (adopt/decline/defer, with who decided) or an action."""
    svc = _svc(uow, request)
    meeting = svc.meetings.get_meeting(meeting_id)
    item = svc.agenda.get_item(meeting, item_id)
    if body.kind == "information":
        out = svc.record_information(meeting, item, body.text or "")
    elif body.kind == "decision":
        assert body.decision and body.decided_by
        out = svc.record_decision(
            meeting,
            item,
            decision=body.decision,
            decided_by=body.decided_by,
            cohort=body.cohort,
            reason=body.reason,
        )
    else:
        data = body.model_dump(
            include={"description", "owner_name", "owner_agency_id", "owner_subject", "due_date"}
        )
        _action, action_out = svc.record_action(meeting, item, data)
        assert action_out is not None
        out = action_out
    svc.repo.flush()
    return OutcomePublic.model_validate(out)


@router.get("/meetings/{meeting_id}/outcomes", response_model=list[OutcomePublic])
def list_outcomes(meeting_id: str, uow: UoWDep, request: Request, _: Staff) -> list[OutcomePublic]:
    """Information, decisions and actions recorded at the meeting."""
    svc = _svc(uow, request)
    meeting = svc.meetings.get_meeting(meeting_id)
    return [OutcomePublic.model_validate(o) for o in svc.repo.outcomes(meeting.id)]


@router.post("/meetings/{meeting_id}/actions", response_model=ActionPublic, status_code=201)
def create_action(
    meeting_id: str, body: ActionCreate, uow: UoWDep, request: Request, _: Manager
) -> ActionPublic:
    """Create an action outside an agenda item (due before the next meeting by default)."""
    svc = _svc(uow, request)
    action, _outcome = svc.record_action(svc.meetings.get_meeting(meeting_id), None, body.model_dump())
    svc.repo.flush()
    return action_public(svc.repo, action, svc.today)


@router.post("/meetings/{meeting_id}/close", response_model=CloseResult)
def close_meeting(meeting_id: str, uow: UoWDep, request: Request, _: Manager) -> CloseResult:
    """Close the meeting: minutes frozen; undecided cases and unfinished actions carry over."""
    svc = _svc(uow, request)
    meeting = svc.meetings.get_meeting(meeting_id)
    result = svc.close_meeting(meeting)
    svc.repo.flush()
    return CloseResult(meeting=meeting_public(svc.meetings, meeting), **result)


@router.post("/meetings/{meeting_id}/addenda", response_model=AddendumPublic, status_code=201)
def add_addendum(
    meeting_id: str, body: AddendumCreate, uow: UoWDep, request: Request, _: Manager
) -> AddendumPublic:
    """Append a correction to a closed meeting's minutes."""
    svc = _svc(uow, request)
    add = svc.add_addendum(svc.meetings.get_meeting(meeting_id), body.text, body.item_id)
    svc.repo.flush()
    return AddendumPublic.model_validate(add)


@router.get("/meetings/{meeting_id}/addenda", response_model=list[AddendumPublic])
def list_addenda(meeting_id: str, uow: UoWDep, request: Request, _: Staff) -> list[AddendumPublic]:
    """Corrections appended after the meeting closed."""
    svc = _svc(uow, request)
    return [
        AddendumPublic.model_validate(a) for a in svc.repo.addenda(svc.meetings.get_meeting(meeting_id).id)
    ]


@router.get("/meetings/{meeting_id}/pack", response_class=HTMLResponse)
def meeting_pack(
    meeting_id: str,
    uow: UoWDep,
    request: Request,
    _: Staff,
    recipient: Annotated[str | None, Query(max_length=128, description="who the pack is sent to")] = None,
) -> HTMLResponse:
    """The printable meeting pack (agenda, decisions, actions) as HTML; consultation is audited."""
    svc = _svc(uow, request)
    meeting = svc.meetings.get_meeting(meeting_id)
    plan, items = svc.agenda.plan(meeting)
    agenda = agenda_public(meeting, plan, items, svc.repo)
    titles = {i.id: i for i in svc.repo.items(meeting.id)}
    decisions = []
    for o in svc.repo.outcomes(meeting.id):
        if o.kind == "decision":
            it = titles.get(o.item_id)
            decisions.append(
                o.model_dump()
                | {"item_title": it.title if it else "", "person_label": it.person_label if it else ""}
            )
    rows, _total = svc.repo.actions(meeting_id=meeting.id, limit=1000)
    actions = [action_public(svc.repo, a, svc.today).model_dump() for a in rows]
    html = render_pack(
        meeting=meeting_public(svc.meetings, meeting).model_dump(),
        agenda=[i.model_dump() for i in agenda.kept],
        moved=[i.model_dump() for i in agenda.moved]
        + [d.item.model_dump() | {"deferred_reason": d.reason} for d in agenda.to_defer],
        decisions=decisions,
        actions=actions,
        addenda=[a.model_dump() for a in svc.repo.addenda(meeting.id)],
        planned_minutes=agenda.planned_minutes,
        notes=agenda.notes,
    )
    uow.audit(
        AuditOperation.DISCLOSE if recipient else AuditOperation.CONSULT,
        subject_type="meeting_pack",
        subject_id=meeting.id,
        justification=justification(request, svc.settings.default_justification),
        recipient=recipient,
    )
    return HTMLResponse(html)


# -- actions ----------------------------------------------------------------------
@router.get("/actions", response_model=ActionPage)
def list_actions(
    uow: UoWDep,
    request: Request,
    principal: Anyone,
    status: str | None = None,
    meeting_id: str | None = None,
    mine: bool = False,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ActionPage:
    """Action list: a partner agency sees its own actions only; staff see all (or `mine`)."""
    svc = _svc(uow, request)
    rows, total = svc.repo.actions(
        agency_id=partner_agency(principal),
        owner_subject=principal.subject if mine else None,
        status=status,
        meeting_id=meeting_id,
        overdue_on=svc.today if overdue else None,
        limit=limit,
        offset=offset,
    )
    items = [action_public(svc.repo, a, svc.today) for a in rows]
    return ActionPage(items=items, total=total, limit=limit, offset=offset)


@router.get("/actions/{action_id}", response_model=ActionPublic)
def get_action(action_id: str, uow: UoWDep, request: Request, principal: Anyone) -> ActionPublic:
    """One action with its carry-over history."""
    svc = _svc(uow, request)
    return action_public(svc.repo, svc.get_action(action_id, principal), svc.today)


@router.post("/actions/{action_id}/status", response_model=ActionPublic)
def set_status(
    action_id: str, body: ActionStatusUpdate, uow: UoWDep, request: Request, principal: Anyone
) -> ActionPublic:
    """Done, not possible (circumstances changed) or not done (the agency did not do it)."""
    svc = _svc(uow, request)
    action = svc.set_status(svc.get_action(action_id, principal), body.status, body.note, principal)
    return action_public(svc.repo, action, svc.today)


@router.post("/actions/{action_id}/carry-over", response_model=ActionPublic)
def carry_over(
    action_id: str, body: CarryOverRequest, uow: UoWDep, request: Request, principal: Manager
) -> ActionPublic:
    """Carry an unfinished action to the next meeting, with the reason."""
    svc = _svc(uow, request)
    action = svc.get_action(action_id, principal)
    svc.carry_over(action, body.reason_code, body.reason)
    svc.repo.flush()
    return action_public(svc.repo, action, svc.today)


@router.post("/actions/overdue-sweep", response_model=SweepResult)
def overdue_sweep(uow: UoWDep, request: Request, _: Manager) -> SweepResult:
    """Flag overdue actions now (the service also does this on a timer)."""
    svc = ActionService(uow, settings_of(request))
    return SweepResult(flagged=svc.overdue_sweep())
