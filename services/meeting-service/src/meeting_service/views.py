"""Turn stored rows into API models (shared by the routers)."""

from __future__ import annotations

import json
from datetime import date

from fastapi import Request
from hhpu_shared.auth import Principal, Role
from hhpu_shared.errors import NotFound
from hhpu_shared.http import get_runtime
from hhpu_shared.uow import UnitOfWork

from meeting_service.domain.actions import is_overdue
from meeting_service.domain.agenda import AgendaPlan
from meeting_service.models import Action, AgendaItem, Meeting, Series
from meeting_service.repository import Repository
from meeting_service.schemas import (
    ActionCarryPublic,
    ActionPublic,
    AgendaItemPublic,
    AgendaPublic,
    DeferredPublic,
    InvitationPublic,
    MeetingPublic,
    SeriesPublic,
)
from meeting_service.service import MeetingService
from meeting_service.service_actions import agency_scope
from meeting_service.settings import MeetingSettings

MANAGE = (Role.MEETING_CHAIR, Role.UNIT_SUPERVISOR, Role.ADMINISTRATOR)
STAFF = (Role.MEETING_CHAIR, Role.UNIT_SUPERVISOR, Role.ADMINISTRATOR, Role.OFFENDER_MANAGER, Role.ANALYST)
ANYONE = (*STAFF, Role.PARTNER_AGENCY)


def settings_of(request: Request) -> MeetingSettings:
    s = get_runtime(request).settings
    assert isinstance(s, MeetingSettings)
    return s


def justification(request: Request, default: str) -> str:
    return (request.headers.get("x-justification") or "").strip()[:500] or default


def partner_agency(principal: Principal) -> str | None:
    """The agency a caller is confined to, or None for staff (who see everything)."""
    return agency_scope(principal)


def meeting_public(svc: MeetingService, meeting: Meeting, *, agency_id: str | None = None) -> MeetingPublic:
    invitations = list(svc.repo.invitations(meeting.id))
    if agency_id is not None:
        if not any(i.agency_id == agency_id for i in invitations):
            raise NotFound(f"Meeting {meeting.id} does not exist.")
        invitations = [i for i in invitations if i.agency_id == agency_id]
    present, needed, met = svc.quorum(meeting)
    out = MeetingPublic.model_validate(meeting)
    return out.model_copy(
        update={
            "invitations": [InvitationPublic.model_validate(i) for i in invitations],
            "agencies_attending": present,
            "quorum_agencies": needed,
            "quorum_met": met,
        }
    )


def series_public(series: Series) -> SeriesPublic:
    data = {k: getattr(series, k) for k in SeriesPublic.model_fields if k != "invited_agency_ids"}
    return SeriesPublic(**data, invited_agency_ids=json.loads(series.invited_agency_ids or "[]"))


def item_public(item: AgendaItem, starts_at: int | None = None) -> AgendaItemPublic:
    return AgendaItemPublic.model_validate(item).model_copy(update={"starts_at_minute": starts_at})


def agenda_public(
    meeting: Meeting,
    plan: AgendaPlan,
    items: dict[str, AgendaItem],
    repo: Repository,
    moved_to: str | None = None,
) -> AgendaPublic:
    kept = []
    t = 0
    for p in plan.kept:
        kept.append(item_public(items[p.id], t))
        t += p.minutes
    others = repo.items(meeting.id, statuses=("deferred", "removed"))
    return AgendaPublic(
        meeting_id=meeting.id,
        limit_minutes=plan.limit,
        requested_minutes=plan.requested_minutes,
        planned_minutes=plan.planned_minutes,
        over_limit=plan.over_limit,
        kept=kept,
        to_defer=[
            DeferredPublic(item=item_public(items[d.item.id]), reason_code=d.reason_code, reason=d.reason)
            for d in plan.deferred
        ],
        moved=[item_public(i) for i in others if i.status == "deferred"],
        removed=[item_public(i) for i in others if i.status == "removed"],
        notes=plan.notes,
        moved_to_meeting_id=moved_to,
    )


def action_public(repo: Repository, action: Action, today: date | None = None) -> ActionPublic:
    out = ActionPublic.model_validate(action)
    return out.model_copy(
        update={
            "overdue": is_overdue(action.status, action.due_date, today or date.today()),
            "carries": [ActionCarryPublic.model_validate(c) for c in repo.carries(action.id)],
        }
    )


def load_meeting(uow: UnitOfWork, request: Request, meeting_id: str) -> tuple[MeetingService, Meeting]:
    svc = MeetingService(uow, settings_of(request))
    return svc, svc.get_meeting(meeting_id)
