"""Who may call which route, the settings of the running service, documented problem answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from hhpu_shared.auth import STAFF_ROLES, Principal, Role
from hhpu_shared.http import get_runtime, require_roles

from referral_api.settings import ReferralSettings

Partner = Annotated[Principal, Depends(require_roles(Role.PARTNER_AGENCY))]
StaffOrPartner = Annotated[Principal, Depends(require_roles(Role.PARTNER_AGENCY, *STAFF_ROLES))]
Staff = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]
Reader = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR, Role.UNIT_SUPERVISOR))]
ReaderOrPartner = Annotated[
    Principal, Depends(require_roles(Role.ADMINISTRATOR, Role.UNIT_SUPERVISOR, Role.PARTNER_AGENCY))
]
System = Annotated[Principal, Depends(require_roles(Role.SYSTEM))]

PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No verified identity"},
    403: {"description": "The role does not allow this"},
    422: {"description": "Invalid request (problem+json with field codes)"},
}


def get_settings(request: Request) -> ReferralSettings:
    settings = get_runtime(request).settings
    assert isinstance(settings, ReferralSettings)
    return settings


SettingsDep = Annotated[ReferralSettings, Depends(get_settings)]
