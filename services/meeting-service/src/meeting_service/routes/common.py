"""Who may call what, and the settings of the running service (read from the runtime)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from hhpu_shared.auth import STAFF_ROLES, Principal, Role
from hhpu_shared.http import require_roles, settings_of

from meeting_service.settings import MeetingSettings

# The meeting's managers: the chair, a supervisor or an administrator.
MANAGER_ROLES = (Role.MEETING_CHAIR, Role.UNIT_SUPERVISOR, Role.ADMINISTRATOR)
# Who reads meetings, agendas, outcomes, packs and actions: the unit's staff who work cases or the
# meeting, and analysts. Not the data protection officer (least privilege, as the gateway's policy
# table): they see what the meeting-service holds on a person through /subject-access.
READER_ROLES = (*MANAGER_ROLES, Role.OFFENDER_MANAGER, Role.ANALYST)

# Route signatures put these first, before any dependency that can refuse a request for another
# reason (X-Justification, a body): a refused role is a 403 whatever else is missing.
Manager = Annotated[Principal, Depends(require_roles(*MANAGER_ROLES))]
Staff = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]  # meeting types and agencies
Reader = Annotated[Principal, Depends(require_roles(*READER_ROLES))]
# A reader, or a partner agency (confined to its own agency by the service layer).
Participant = Annotated[Principal, Depends(require_roles(*READER_ROLES, Role.PARTNER_AGENCY))]
# A manager, or a partner agency answering its own invitation.
Responder = Annotated[Principal, Depends(require_roles(*MANAGER_ROLES, Role.PARTNER_AGENCY))]
# Any staff role, or a partner agency: the list of meetings (a partner sees those it is invited to).
Anyone = Annotated[Principal, Depends(require_roles(*STAFF_ROLES, Role.PARTNER_AGENCY))]


SettingsDep = Annotated[MeetingSettings, Depends(settings_of(MeetingSettings))]
