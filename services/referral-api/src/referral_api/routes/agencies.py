"""Partner agencies, their API keys and webhooks (administrators; reads also unit supervisors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from hhpu_shared.http import Page, PageDep, UoWDep

from referral_api.routes.common import Admin, Reader, ReaderOrPartner
from referral_api.schemas_admin import (
    AgencyCreate,
    AgencyCreated,
    AgencyPublic,
    AgencyUpdate,
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyPublic,
    WebhookAttemptPublic,
    WebhookSecretIssued,
)
from referral_api.service import agencies, webhooks

router = APIRouter(prefix="/agencies", tags=["agencies"])


@router.post("", status_code=201, response_model=AgencyCreated)
def create_agency(body: AgencyCreate, uow: UoWDep, _: Admin) -> AgencyCreated:
    """Register a partner agency (its webhook secret, if any, is shown once)."""
    return agencies.create_agency(uow, body)


@router.get("", response_model=Page[AgencyPublic])
def list_agencies(uow: UoWDep, _: Reader, page: PageDep) -> Page[AgencyPublic]:
    """List partner agencies by name."""
    return agencies.list_agencies(uow, page)


@router.get("/{agency_id}", response_model=AgencyPublic)
def get_agency(agency_id: str, uow: UoWDep, _: Reader) -> AgencyPublic:
    """Read one agency."""
    return agencies.get_agency(uow, agency_id)


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
    """Issue a new webhook signing secret (shown once); the next webhook is signed with it."""
    return agencies.rotate_webhook_secret(uow, agency_id)


@router.get("/{agency_id}/webhook-attempts", response_model=Page[WebhookAttemptPublic])
def list_webhook_attempts(
    agency_id: str,
    uow: UoWDep,
    _: ReaderOrPartner,
    page: PageDep,
    referral_id: Annotated[str | None, Query(max_length=36)] = None,
) -> Page[WebhookAttemptPublic]:
    """The agency's webhook delivery history, newest first (a partner agency reads its own)."""
    return webhooks.attempts(uow, agency_id, page, referral_id=referral_id)


@router.post("/{agency_id}/keys", status_code=201, response_model=ApiKeyIssued)
def issue_key(agency_id: str, uow: UoWDep, _: Admin, body: ApiKeyCreate | None = None) -> ApiKeyIssued:
    """Issue an API key; the full key is in this response only."""
    return agencies.issue_key(uow, agency_id, body or ApiKeyCreate())


@router.get("/{agency_id}/keys", response_model=Page[ApiKeyPublic])
def list_keys(agency_id: str, uow: UoWDep, _: Reader, page: PageDep) -> Page[ApiKeyPublic]:
    """An agency's keys, without secrets."""
    return agencies.list_keys(uow, agency_id, page)


@router.post("/{agency_id}/keys/{key_id}/rotate", status_code=201, response_model=ApiKeyIssued)
def rotate_key(agency_id: str, key_id: str, uow: UoWDep, _: Admin) -> ApiKeyIssued:
    """Revoke a key and issue its replacement (shown once)."""
    return agencies.rotate_key(uow, agency_id, key_id)


@router.post("/{agency_id}/keys/{key_id}/revoke", response_model=ApiKeyPublic)
def revoke_key(agency_id: str, key_id: str, uow: UoWDep, _: Admin) -> ApiKeyPublic:
    """Revoke a key at once."""
    return agencies.revoke_key(uow, agency_id, key_id)
