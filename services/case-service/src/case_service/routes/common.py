"""Access rules and the justification every read of a person's record must give."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from hhpu_shared.auth import Principal, Role
from hhpu_shared.errors import Forbidden, ValidationProblem, field_error
from hhpu_shared.http import PrincipalDep

from case_service.settings import CaseSettings

CASE_ROLES = (Role.OFFENDER_MANAGER, Role.UNIT_SUPERVISOR, Role.ADMINISTRATOR)
DECIDER_ROLES = (Role.UNIT_SUPERVISOR, Role.MEETING_CHAIR)
SUPERVISOR_ROLES = (Role.UNIT_SUPERVISOR, Role.ADMINISTRATOR)
AGGREGATE_ROLES = (*CASE_ROLES, Role.ANALYST)


def _roles(*roles: str):  # type: ignore[no-untyped-def]
    def dep(principal: PrincipalDep) -> Principal:
        # Partner agencies never see cases, whatever roles a token claims.
        if principal.is_partner or principal.has(Role.PARTNER_AGENCY):
            raise Forbidden("Partner agencies have no access to case records.")
        if not principal.has(*roles):
            raise Forbidden("Your role does not allow this operation.")
        return principal

    return dep


CaseUser = Annotated[Principal, Depends(_roles(*CASE_ROLES))]
Decider = Annotated[Principal, Depends(_roles(*DECIDER_ROLES, Role.ADMINISTRATOR))]
AssessmentReader = Annotated[Principal, Depends(_roles(*CASE_ROLES, Role.MEETING_CHAIR))]
Supervisor = Annotated[Principal, Depends(_roles(*SUPERVISOR_ROLES))]
AggregateUser = Annotated[Principal, Depends(_roles(*AGGREGATE_ROLES))]


def justification(x_justification: Annotated[str | None, Header()] = None) -> str:
    """Why the caller reads or changes personal data (DPA 2018 s.62): header X-Justification."""
    value = (x_justification or "").strip()
    if len(value) < 3:
        raise ValidationProblem(
            [field_error("X-Justification", "required", "give the reason for consulting this record")],
            detail="Reading or changing a person's record needs a justification (header X-Justification).",
        )
    return value[:500]


Justification = Annotated[str, Depends(justification)]


def settings_of(request: Request) -> CaseSettings:
    s = request.app.state.runtime.settings
    return s if isinstance(s, CaseSettings) else CaseSettings()
