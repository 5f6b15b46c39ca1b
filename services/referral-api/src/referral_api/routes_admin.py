"""HTTP routes for partner agencies and API keys (administrators), and the gateway's key check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from hhpu_shared.auth import Principal, Role
from hhpu_shared.http import UoWDep, require_roles

from referral_api import repository as repo
from referral_api import service_agencies as agencies
from referral_api.schemas_admin import (
    AgencyCreate,
    AgencyCreated,
    AgencyPage,
    AgencyPublic,
    AgencyUpdate,
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyPublic,
    KeyVerifyRequest,
    KeyVerifyResponse,
    WebhookSecretIssued,
)

router = APIRouter(prefix="/agencies", tags=["agencies"])
internal_router = APIRouter(tags=["internal"])

Admin = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR))]
Reader = Annotated[Principal, Depends(require_roles(Role.ADMINISTRATOR, Role.UNIT_SUPERVISOR))]
System = Annotated[Principal, Depends(require_roles(Role.SYSTEM))]


@router.post("", status_code=201, response_model=AgencyCreated)
def create_agency(body: AgencyCreate, uow: UoWDep, _: Admin) -> AgencyCreated:
    """Register a partner agency (its webhook secret, if any, is shown once)."""
    return agencies.create_agency(uow, body)


@router.get("", response_model=AgencyPage)
def list_agencies(
    uow: UoWDep,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AgencyPage:
    """List partner agencies by name."""
    rows, total = repo.list_agencies(uow.session, limit=limit, offset=offset)
    return AgencyPage(
        items=[agencies.agency_public(a) for a in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{agency_id}", response_model=AgencyPublic)
def get_agency(agency_id: str, uow: UoWDep, _: Reader) -> AgencyPublic:
    """Read one agency."""
    return agencies.agency_public(agencies.require_agency(uow, agency_id))


@router.patch("/{agency_id}", response_model=AgencyCreated)
def update_agency(agency_id: str, body: AgencyUpdate, uow: UoWDep, _: Admin) -> AgencyCreated:
    """Change an agency's details or webhook URL."""
    return agencies.update_agency(uow, agency_id, body)


@router.post("/{agency_id}/deactivate", response_model=AgencyPublic)
def deactivate_agency(agency_id: str, uow: UoWDep, _: Admin) -> AgencyPublic:
    """Deactivate an agency: its keys stop working at once."""
    return agencies.set_active(uow, agency_id, False)


@router.post("/{agency_id}/activate", response_model=AgencyPublic)
def activate_agency(agency_id: str, uow: UoWDep, _: Admin) -> AgencyPublic:
    """Reactivate an agency."""
    return agencies.set_active(uow, agency_id, True)


@router.post("/{agency_id}/webhook-secret", response_model=WebhookSecretIssued)
def rotate_webhook_secret(agency_id: str, uow: UoWDep, _: Admin) -> WebhookSecretIssued:
    """Issue a new webhook signing secret (shown once)."""
    return WebhookSecretIssued(
        agency_id=agency_id, webhook_secret=agencies.rotate_webhook_secret(uow, agency_id)
    )


@router.post("/{agency_id}/keys", status_code=201, response_model=ApiKeyIssued)
def issue_key(agency_id: str, uow: UoWDep, _: Admin, body: ApiKeyCreate | None = None) -> ApiKeyIssued:
    """Issue an API key; the full key is in this response only."""
    return agencies.issue_key(uow, agency_id, body or ApiKeyCreate())


@router.get("/{agency_id}/keys", response_model=list[ApiKeyPublic])
def list_keys(agency_id: str, uow: UoWDep, _: Reader) -> list[ApiKeyPublic]:
    """An agency's keys, without secrets."""
    return agencies.list_keys(uow, agency_id)


@router.post("/{agency_id}/keys/{key_id}/rotate", status_code=201, response_model=ApiKeyIssued)
def rotate_key(agency_id: str, key_id: str, uow: UoWDep, _: Admin) -> ApiKeyIssued:
    """Revoke a key and issue its replacement (shown once)."""
    return agencies.rotate_key(uow, agency_id, key_id)


@router.post("/{agency_id}/keys/{key_id}/revoke", response_model=ApiKeyPublic)
def revoke_key(agency_id: str, key_id: str, uow: UoWDep, _: Admin) -> ApiKeyPublic:
    """Revoke a key at once."""
    return agencies.revoke_key(uow, agency_id, key_id)


@internal_router.post("/keys/verify", response_model=KeyVerifyResponse)
def verify_key(body: KeyVerifyRequest, uow: UoWDep, _: System) -> KeyVerifyResponse:
    """Check a partner's API key for the gateway: its agency and scopes, or 401."""
    return agencies.verify_key(uow, body.key)
