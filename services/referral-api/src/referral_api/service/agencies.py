"""Partner agencies and their API keys (shown once, stored as a SHA-256 hash, rotatable, revocable)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from hhpu_shared.errors import Conflict, NotFound, Unauthorized, ValidationProblem, field_error
from hhpu_shared.events.contracts.referral import AgencyChanged
from hhpu_shared.http import Page, PageParams
from hhpu_shared.uow import UnitOfWork

from referral_api import repository as repo
from referral_api.models import Agency, ApiKey, now_utc
from referral_api.schemas_admin import (
    AgencyCreate,
    AgencyCreated,
    AgencyPublic,
    AgencyUpdate,
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyPublic,
    KeyVerifyResponse,
    WebhookSecretIssued,
)

KEY_PREFIX = "hhpu"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def make_key() -> tuple[str, str, str]:
    """A new key: (key_id, secret, full key ``hhpu_<keyid>_<secret>``)."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return key_id, secret, f"{KEY_PREFIX}_{key_id}_{secret}"


def parse_key(key: str) -> tuple[str, str] | None:
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def agency_public(a: Agency) -> AgencyPublic:
    return AgencyPublic.model_validate(a, from_attributes=True)


def key_public(k: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic(
        key_id=k.id,
        agency_id=k.agency_id,
        label=k.label,
        scopes=list(k.scopes),
        active=k.revoked_at is None,
        created_at=k.created_at,
        revoked_at=k.revoked_at,
        replaced_by=k.replaced_by,
    )


def _announce(uow: UnitOfWork, agency: Agency) -> None:
    """Tell the other services (the meeting-service's contacts) what the agency now is."""
    uow.emit(
        AgencyChanged(
            agency_id=agency.id,
            name=agency.name,
            agency_type=agency.agency_type,
            contact_name=agency.contact_name,
            contact_email=agency.contact_email,
            contact_phone=agency.contact_phone,
            active=agency.active,
        ),
        aggregate_id=agency.id,
    )


def require_agency(uow: UnitOfWork, agency_id: str) -> Agency:
    agency = repo.get_agency(uow.session, agency_id)
    if agency is None:
        raise NotFound("No such agency.")
    return agency


def list_agencies(uow: UnitOfWork, page: PageParams) -> Page[AgencyPublic]:
    rows, total = repo.list_agencies(uow.session, limit=page.limit, offset=page.offset)
    return Page[AgencyPublic].of([agency_public(a) for a in rows], total, page)


def get_agency(uow: UnitOfWork, agency_id: str) -> AgencyPublic:
    return agency_public(require_agency(uow, agency_id))


def create_agency(uow: UnitOfWork, body: AgencyCreate) -> AgencyCreated:
    if repo.agency_by_name(uow.session, body.name) is not None:
        raise Conflict("An agency with this name exists.", code="duplicate_agency")
    agency = Agency(**body.model_dump())
    if agency.webhook_url:
        agency.webhook_secret = new_webhook_secret()
    uow.session.add(agency)
    uow.session.flush()
    _announce(uow, agency)
    return AgencyCreated(**agency_public(agency).model_dump(), webhook_secret=agency.webhook_secret)


def update_agency(uow: UnitOfWork, agency_id: str, body: AgencyUpdate) -> AgencyCreated:
    """Change an agency; a first webhook URL gets a new secret, shown in this response only."""
    agency = require_agency(uow, agency_id)
    changes = body.model_dump(exclude_unset=True)
    cleared = [f for f in ("name", "agency_type", "contact_name") if f in changes and changes[f] is None]
    if cleared:
        raise ValidationProblem(
            [field_error(f, "required", "This field cannot be emptied.") for f in cleared]
        )
    if "name" in changes:
        other = repo.agency_by_name(uow.session, changes["name"])
        if other is not None and other.id != agency.id:
            raise Conflict("An agency with this name exists.", code="duplicate_agency")
    for field, value in changes.items():
        setattr(agency, field, value)
    new_secret = None
    if agency.webhook_url and not agency.webhook_secret:
        new_secret = agency.webhook_secret = new_webhook_secret()
    agency.updated_at = now_utc()
    uow.session.add(agency)
    _announce(uow, agency)
    return AgencyCreated(**agency_public(agency).model_dump(), webhook_secret=new_secret)


def set_active(uow: UnitOfWork, agency_id: str, active: bool) -> AgencyPublic:
    agency = require_agency(uow, agency_id)
    agency.active = active
    agency.updated_at = now_utc()
    uow.session.add(agency)
    _announce(uow, agency)
    return agency_public(agency)


def rotate_webhook_secret(uow: UnitOfWork, agency_id: str) -> WebhookSecretIssued:
    """A new signing secret, shown once; the next webhook is signed with it."""
    agency = require_agency(uow, agency_id)
    agency.webhook_secret = new_webhook_secret()
    agency.updated_at = now_utc()
    uow.session.add(agency)
    return WebhookSecretIssued(agency_id=agency.id, webhook_secret=agency.webhook_secret)


def issue_key(uow: UnitOfWork, agency_id: str, body: ApiKeyCreate) -> ApiKeyIssued:
    agency = require_agency(uow, agency_id)
    if not agency.active:
        raise Conflict("The agency is inactive; reactivate it before issuing keys.", code="agency_inactive")
    return _new_key(uow, agency_id, body.label, list(dict.fromkeys(body.scopes)))


def _new_key(uow: UnitOfWork, agency_id: str, label: str | None, scopes: list[str]) -> ApiKeyIssued:
    key_id, secret, full = make_key()
    key = ApiKey(
        id=key_id,
        agency_id=agency_id,
        label=label,
        secret_hash=hash_secret(secret),
        scopes=scopes,
        created_by=uow.principal.subject,
    )
    uow.session.add(key)
    uow.session.flush()
    return ApiKeyIssued(**key_public(key).model_dump(), key=full)


def _agency_key(uow: UnitOfWork, agency_id: str, key_id: str) -> ApiKey:
    key = repo.get_key(uow.session, key_id)
    if key is None or key.agency_id != agency_id:
        raise NotFound("No such key for this agency.")
    return key


def revoke_key(uow: UnitOfWork, agency_id: str, key_id: str) -> ApiKeyPublic:
    key = _agency_key(uow, agency_id, key_id)
    if key.revoked_at is None:
        key.revoked_at = now_utc()
        key.revoked_by = uow.principal.subject
        uow.session.add(key)
    return key_public(key)


def rotate_key(uow: UnitOfWork, agency_id: str, key_id: str) -> ApiKeyIssued:
    """Revoke a key and issue its replacement with the same label and scopes."""
    old = _agency_key(uow, agency_id, key_id)
    if old.revoked_at is not None:
        raise Conflict("The key is already revoked.", code="key_revoked")
    issued = _new_key(uow, agency_id, old.label, list(old.scopes))
    old.revoked_at = now_utc()
    old.revoked_by = uow.principal.subject
    old.replaced_by = issued.key_id
    uow.session.add(old)
    return issued


def list_keys(uow: UnitOfWork, agency_id: str, page: PageParams) -> Page[ApiKeyPublic]:
    require_agency(uow, agency_id)
    rows, total = repo.keys_of(uow.session, agency_id, limit=page.limit, offset=page.offset)
    return Page[ApiKeyPublic].of([key_public(k) for k in rows], total, page)


def verify_key(uow: UnitOfWork, key: str) -> KeyVerifyResponse:
    """The gateway's check of a partner's key; every failure looks the same to the caller."""
    parsed = parse_key(key)
    refused = Unauthorized("The API key is not valid.", code="invalid_api_key")
    if parsed is None:
        raise refused
    key_id, secret = parsed
    row = repo.get_key(uow.session, key_id)
    # Hash even when the key is unknown, so timing does not reveal which key ids exist.
    candidate = hash_secret(secret)
    if row is None or not hmac.compare_digest(candidate, row.secret_hash) or row.revoked_at is not None:
        raise refused
    agency = repo.get_agency(uow.session, row.agency_id)
    if agency is None or not agency.active:
        raise refused
    return KeyVerifyResponse(
        agency_id=agency.id, agency_name=agency.name, scopes=list(row.scopes), key_id=row.id
    )
