"""Who may call which route, the settings of the running service, documented problem answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from hhpu_shared.auth import Principal, Role
from hhpu_shared.http import require_roles, settings_of

from referral_api.settings import ReferralSettings

# Staff who work referrals and their match reviews: offender managers, supervisors, analysts (who see
# references, not identities) and administrators. Not the meeting chair nor the data protection
# officer (least privilege, as the gateway's policy table; the officer answers subject access through
# /subject-access/referral-api). Route signatures put the role first: a refused role is a 403
# whatever else (X-Justification, a body) is missing.
REFERRAL_STAFF = (Role.OFFENDER_MANAGER, Role.UNIT_SUPERVISOR, Role.ANALYST, Role.ADMINISTRATOR)

Partner = Annotated[Principal, Depends(require_roles(Role.PARTNER_AGENCY))]
StaffOrPartner = Annotated[Principal, Depends(require_roles(Role.PARTNER_AGENCY, *REFERRAL_STAFF))]
Staff = Annotated[Principal, Depends(require_roles(*REFERRAL_STAFF))]
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


SettingsDep = Annotated[ReferralSettings, Depends(settings_of(ReferralSettings))]
