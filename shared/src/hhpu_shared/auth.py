"""Caller identity as the services see it.

The gateway authenticates the caller (partner API key or staff JWT) and forwards a short-lived
identity assertion, an HS256 token signed with the internal secret, in ``X-HHPU-Identity``.
Services verify it on every call, so a header forged from outside is worthless; they still
enforce agency scope themselves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum

import jwt

IDENTITY_HEADER = "x-hhpu-identity"
ISSUER = "hhpu-gateway"
AUDIENCE = "hhpu-services"


class Role(StrEnum):
    PARTNER_AGENCY = "partner_agency"
    OFFENDER_MANAGER = "offender_manager"
    UNIT_SUPERVISOR = "unit_supervisor"
    ANALYST = "analyst"
    MEETING_CHAIR = "meeting_chair"
    ADMINISTRATOR = "administrator"
    SYSTEM = "system"


STAFF_ROLES = frozenset(
    {Role.OFFENDER_MANAGER, Role.UNIT_SUPERVISOR, Role.ANALYST, Role.MEETING_CHAIR, Role.ADMINISTRATOR}
)


@dataclass(frozen=True)
class Principal:
    subject: str
    kind: str  # "staff", "agency" or "system"
    roles: frozenset[str] = field(default_factory=frozenset)
    agency_id: str | None = None
    name: str | None = None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_partner(self) -> bool:
        return self.kind == "agency"


def system_principal(name: str) -> Principal:
    return Principal(subject=f"system:{name}", kind="system", roles=frozenset({Role.SYSTEM}))


class IdentityError(Exception):
    pass


def mint_identity(principal: Principal, secret: str, ttl_s: int = 60) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": principal.subject,
        "kind": principal.kind,
        "roles": sorted(principal.roles),
        "iat": now,
        "exp": now + ttl_s,
    }
    if principal.agency_id:
        claims["agency"] = principal.agency_id
    if principal.name:
        claims["name"] = principal.name
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_identity(token: str, secret: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise IdentityError(str(exc)) from exc
    return Principal(
        subject=str(claims["sub"]),
        kind=str(claims.get("kind", "staff")),
        roles=frozenset(str(r) for r in claims.get("roles", [])),
        agency_id=claims.get("agency"),
        name=claims.get("name"),
    )
