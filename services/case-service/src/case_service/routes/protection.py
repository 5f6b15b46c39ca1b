"""HTTP: erasure and restriction decisions about a person (DPA 2018 s.47), for the data protection
officer and supervisors; each applies here and reaches every service by event."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from hhpu_shared.auth import DATA_PROTECTION_ROLES, Principal
from hhpu_shared.fields import Text
from hhpu_shared.http import JustificationDep, UoWDep, require_roles
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from case_service.schemas_protection import ErasureOutcome, RestrictionOutcome
from case_service.service import protection

router = APIRouter(prefix="/people", tags=["data protection"])
DataProtector = Annotated[Principal, Depends(require_roles(*DATA_PROTECTION_ROLES))]
ErasureReason = Literal["mopi_disposal", "erasure_request", "unlawful_processing", "other"]


class ErasureRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason_code": "mopi_disposal", "reason": "MOPI review: no longer needed"}]
        },
    )

    reason_code: ErasureReason
    reason: Text = Field(
        min_length=3, max_length=500, description="why (kept in the audit; no personal data)"
    )


class RestrictionRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"restricted": True, "reason_code": "accuracy_contested"}]},
    )

    restricted: StrictBool = True
    reason_code: Literal["accuracy_contested", "erasure_pending", "evidence_preserved", "other"]


@router.post("/{person_id}/erasure", response_model=ErasureOutcome)
def erase_person(
    person_id: str, body: ErasureRequest, principal: DataProtector, uow: UoWDep, why: JustificationDep
) -> dict[str, Any]:
    """Dispose of or erase a person's data in every service (irreversible); the audit keeps who
    decided and why."""
    return protection.decide_erasure(uow, person_id, body.reason_code, body.reason)


@router.post("/{person_id}/restriction", response_model=RestrictionOutcome)
def restrict_person(
    person_id: str, body: RestrictionRequest, principal: DataProtector, uow: UoWDep, why: JustificationDep
) -> dict[str, Any]:
    """Restrict processing of a person's data in every service (or lift the restriction)."""
    return protection.decide_restriction(uow, person_id, body.restricted, body.reason_code)
