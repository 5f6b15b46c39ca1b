"""HTTP: erasure and restriction decisions about a person (DPA 2018 s.47), for the data protection
officer and supervisors; each applies here and reaches every service by event."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, status
from hhpu_shared.auth import DATA_PROTECTION_ROLES, Principal
from hhpu_shared.fields import LineCheck, Text
from hhpu_shared.http import JustificationDep, UoWDep, require_roles
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from case_service.schemas_protection import ErasureOutcome, RestrictionOutcome
from case_service.service import protection

router = APIRouter(prefix="/people", tags=["data protection"])
erasures = APIRouter(prefix="/erasures", tags=["data protection"])
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


Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), LineCheck]


class ReferenceErasureRequest(ErasureRequest):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "references": ["referral-3f9c2a", "RMS-0048213"],
                    "reason_code": "mopi_disposal",
                    "reason": "MOPI review: screened-out referral past its retention period",
                }
            ]
        },
    )

    references: list[Reference] = Field(
        min_length=1,
        max_length=20,
        description="the person's references in the other services: referral ids (referral-api), "
        "records ids (ranking-service, referral-api); never a name",
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


@erasures.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ErasureOutcome)
def erase_by_reference(
    body: ReferenceErasureRequest, principal: DataProtector, uow: UoWDep, why: JustificationDep
) -> dict[str, Any]:
    """Erase a person the case-service does not hold (a referral screened out or awaiting a match
    review, someone only in the ranking's records) by their references; every service applies it
    (irreversible) and its audit keeps who decided and why. 409 `person_known` when the references
    name a person held here (erase the person instead)."""
    return protection.decide_erasure_by_reference(uow, body.references, body.reason_code, body.reason)
