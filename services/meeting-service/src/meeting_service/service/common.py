"""Helpers shared by the service modules: who acts, agency scope, frozen meetings."""

from __future__ import annotations

from hhpu_shared.auth import STAFF_ROLES, Principal
from hhpu_shared.errors import Conflict, Forbidden
from hhpu_shared.protection import is_marked
from hhpu_shared.uow import UnitOfWork

from meeting_service.models import Meeting

OPEN = ("scheduled", "in_progress")


def actor(uow: UnitOfWork) -> str:
    return str(uow.principal.subject)


def ensure_open(meeting: Meeting) -> None:
    """Closed and cancelled meetings are frozen: every change is a 409 ``meeting_closed``."""
    if meeting.status not in OPEN:
        raise Conflict(
            f"The meeting is {meeting.status}: its minutes are frozen; record corrections as addenda.",
            code="meeting_closed",
        )


def agency_scope(principal: Principal) -> str | None:
    """The agency a caller is confined to; None for staff and the system (who see everything)."""
    if principal.kind == "system":
        return None
    if principal.is_partner or not principal.has(*STAFF_ROLES):
        if not principal.agency_id:
            raise Forbidden("No agency is attached to your credentials.")
        return str(principal.agency_id)
    return None


def ensure_not_restricted(uow: UnitOfWork, person_id: str | None) -> None:
    """Nothing new is recorded about a person whose processing is restricted (or whose data was
    erased): a 409 ``restricted`` (DPA 2018 s.47)."""
    if person_id and is_marked(uow.session, person_id):
        raise Conflict("Processing of this person's data is restricted.", code="restricted")
