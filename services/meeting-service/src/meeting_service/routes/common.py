"""Who may call what, and the settings of the running service (read from the runtime)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from hhpu_shared.auth import STAFF_ROLES, Principal, Role
from hhpu_shared.http import get_runtime, require_roles

from meeting_service.settings import MeetingSettings

# The meeting's managers: the chair, a supervisor or an administrator.
MANAGER_ROLES = (Role.MEETING_CHAIR, Role.UNIT_SUPERVISOR, Role.ADMINISTRATOR)

Manager = Annotated[Principal, Depends(require_roles(*MANAGER_ROLES))]
Staff = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
# Staff, or a partner agency (confined to its own agency by the service layer).
Anyone = Annotated[Principal, Depends(require_roles(*STAFF_ROLES, Role.PARTNER_AGENCY))]


def get_settings(request: Request) -> MeetingSettings:
    settings = get_runtime(request).settings
    assert isinstance(settings, MeetingSettings)
    return settings


SettingsDep = Annotated[MeetingSettings, Depends(get_settings)]
