"""HTTP: actions (scoped to the caller's agency), status changes, carry-over, the overdue sweep."""

from __future__ import annotations

from fastapi import APIRouter
from hhpu_shared.audit import AuditOperation
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep

from meeting_service.routes.common import Manager, Participant, SettingsDep
from meeting_service.schemas import ActionPublic, ActionStatusUpdate, CarryOverRequest, SweepResult
from meeting_service.service import actions
from meeting_service.service.views import action_public, audit_people

router = APIRouter(tags=["outcomes and actions"])
ALTER = AuditOperation.ALTER


@router.get("/actions", response_model=Page[ActionPublic])
def list_actions(
    _: Participant,
    uow: UoWDep,
    page: PageDep,
    why: JustificationDep,
    status: str | None = None,
    meeting_id: str | None = None,
    mine: bool = False,
    overdue: bool = False,
) -> Page[ActionPublic]:
    """Action list: a partner agency sees its own actions only; staff see all (or `mine`). Each
    person an action is about is audited (a partner's purpose is recorded as its justification)."""
    rows, total = actions.list_actions(
        uow, page, mine=mine, overdue=overdue, status=status, meeting_id=meeting_id
    )
    audit_people(
        uow, [a.person_id for a in rows if a.person_id], subject_type="actions", subject_id="list", why=why
    )
    return Page.of([action_public(uow, a) for a in rows], total, page)


@router.get("/actions/{action_id}", response_model=ActionPublic)
def get_action(action_id: str, _: Participant, uow: UoWDep, why: JustificationDep) -> ActionPublic:
    """One action with its carry-over history (audited when it is about a person)."""
    action = actions.get_action(uow, action_id)
    audit_people(uow, [action.person_id], subject_type="action", subject_id=action.id, why=why)
    return action_public(uow, action)


@router.post("/actions/{action_id}/status", response_model=ActionPublic)
def set_status(
    action_id: str, _: Participant, body: ActionStatusUpdate, uow: UoWDep, why: JustificationDep
) -> ActionPublic:
    """Done, not possible (circumstances changed) or not done (the agency did not do it); audited when
    the action is about a person (a partner's purpose is recorded as its justification)."""
    action = actions.set_status(uow, actions.get_action(uow, action_id), body.status, body.note)
    audit_people(
        uow, [action.person_id], subject_type="action", subject_id=action.id, why=why, operation=ALTER
    )
    return action_public(uow, action)


@router.post("/actions/{action_id}/carry-over", response_model=ActionPublic)
def carry_over(
    action_id: str,
    body: CarryOverRequest,
    uow: UoWDep,
    settings: SettingsDep,
    _: Manager,
    why: JustificationDep,
) -> ActionPublic:
    """Carry an unfinished action to the next meeting, with the reason (audited)."""
    action = actions.get_action(uow, action_id)
    actions.carry_over(uow, settings, action, body.reason_code, body.reason)
    audit_people(
        uow, [action.person_id], subject_type="action", subject_id=action.id, why=why, operation=ALTER
    )
    return action_public(uow, action)


@router.post("/actions/overdue-sweep", response_model=SweepResult)
def overdue_sweep(uow: UoWDep, settings: SettingsDep, _: Manager) -> SweepResult:
    """Flag overdue actions now (the overdue-sweep worker also does this every interval)."""
    return SweepResult(flagged=actions.overdue_sweep(uow, settings))
