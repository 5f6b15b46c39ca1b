"""Access rules of the case-service and its settings dependency.

The justification every read or change of a person's record gives is the shared
``hhpu_shared.http.JustificationDep`` (header X-Justification, required of staff).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query
from hhpu_shared.auth import Principal, Role
from hhpu_shared.documents import PDF, DocFormat
from hhpu_shared.errors import Forbidden
from hhpu_shared.http import PrincipalDep, settings_of

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


CaseSettingsDep = Annotated[CaseSettings, Depends(settings_of(CaseSettings))]


# A printable document's format and its documented responses (HTML or PDF).
Format = Annotated[DocFormat, Query(alias="format", description="html (default) or pdf")]
DOCUMENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}, PDF: {}}, "description": "the document, marked OFFICIAL-SENSITIVE"}
}
