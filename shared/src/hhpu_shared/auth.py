"""Caller identity as the services see it.

The gateway authenticates the caller (partner API key or staff JWT) and forwards a short-lived
identity assertion, an HS256 token signed with the internal secret, in ``X-HHPU-Identity``.
Services verify it on every call, so a header forged from outside is worthless; they still
enforce agency scope themselves.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm

IDENTITY_HEADER = "x-hhpu-identity"
ISSUER = "hhpu-gateway"
AUDIENCE = "hhpu-services"
METHOD_CLAIM = "mth"  # the request method the assertion was minted for
PATH_CLAIM = "pth"  # the request path (no query string) it was minted for
MAX_ASSERTION_LIFETIME_S = 120  # the gateway mints them for seconds; anything longer is refused


class Role(StrEnum):
    PARTNER_AGENCY = "partner_agency"
    OFFENDER_MANAGER = "offender_manager"
    UNIT_SUPERVISOR = "unit_supervisor"
    ANALYST = "analyst"
    MEETING_CHAIR = "meeting_chair"
    ADMINISTRATOR = "administrator"
    DATA_PROTECTION_OFFICER = "data_protection_officer"
    SYSTEM = "system"


# Who counts as staff (not confined to an agency's own data). Not a grant by itself: a route names its roles,
# exactly the gateway's (docs/security.md).
STAFF_ROLES = frozenset(
    {
        Role.OFFENDER_MANAGER,
        Role.UNIT_SUPERVISOR,
        Role.ANALYST,
        Role.MEETING_CHAIR,
        Role.ADMINISTRATOR,
        Role.DATA_PROTECTION_OFFICER,
    }
)
# Who reads the audit trail, answers subject access and decides review, restriction and erasure.
DATA_PROTECTION_ROLES = frozenset({Role.DATA_PROTECTION_OFFICER, Role.UNIT_SUPERVISOR})


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


def mint_identity(
    principal: Principal,
    secret: str,
    ttl_s: int = 60,
    *,
    method: str | None = None,
    path: str | None = None,
    extra: dict[str, object] | None = None,
) -> str:
    """An identity assertion for one request (`method`, `path`), as the gateway mints it."""
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": principal.subject,
        "kind": principal.kind,
        "roles": sorted(principal.roles),
        "iat": now,
        "exp": now + ttl_s,
        "jti": secrets.token_urlsafe(12),
        **(extra or {}),
    }
    if method is not None:
        claims[METHOD_CLAIM] = method.upper()
    if path is not None:
        claims[PATH_CLAIM] = path
    if principal.agency_id:
        claims["agency"] = principal.agency_id
    if principal.name:
        claims["name"] = principal.name
    return _JWT.encode(claims, secret, algorithm="HS256")


class _HMACKeyCheckedOnce(HMACAlgorithm):
    """PyJWT's HS256, its checks of a key made once per key rather than on every token: PyJWT's
    ``prepare_key`` parses the secret as JSON and matches it against PEM, SSH and DER forms each time
    (about a third of a service's check of an assertion). Signing and verifying are PyJWT's own."""

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)
        self._checked: dict[str | bytes, bytes] = {}

    def prepare_key(self, key: str | bytes) -> bytes:
        prepared = self._checked.get(key)
        if prepared is None:
            prepared = super().prepare_key(key)  # raises for a key PyJWT refuses: never kept
            if len(self._checked) < 8:  # a process has one or two secrets (one during a rotation)
                self._checked[key] = prepared
        return prepared


class _IdentityJWT(jwt.PyJWT):
    """A PyJWT of its own for the assertions, with :class:`_HMACKeyCheckedOnce` as HS256 (the
    library's global instance is left as it is)."""

    def __init__(self) -> None:
        super().__init__()
        self._jws.unregister_algorithm("HS256")
        self._jws.register_algorithm("HS256", _HMACKeyCheckedOnce())


_JWT = _IdentityJWT()


def decode_identity(token: str, secret: str) -> dict[str, Any]:
    """The assertion's claims once its signature, issuer, audience and expiry check out."""
    try:
        claims: dict[str, Any] = _JWT.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.PyJWTError as exc:
        raise IdentityError(str(exc)) from exc
    return claims


class ReplayGuard:
    """The ids (``jti``) of the assertions a process has accepted, each kept until its assertion
    expires: an assertion presented a second time is a replay. Per process; binding to method and
    path confines a replay to another replica to the same operation within the assertion's seconds.

    Expired ids leave from the front of a queue in insertion order (O(1) amortised per request);
    with `capacity` ids live at once, new assertions are refused rather than memory growing."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self.capacity = capacity
        self._seen: set[str] = set()
        self._order: deque[tuple[int, str]] = deque()
        self._lock = threading.Lock()

    def first_use(self, jti: str, exp: int) -> bool:
        now = int(time.time())
        with self._lock:
            order, seen = self._order, self._seen
            while order and order[0][0] < now:
                seen.discard(order.popleft()[1])
            if jti in seen or len(seen) >= self.capacity:
                return False
            seen.add(jti)
            order.append((exp, jti))
            return True

    def __len__(self) -> int:
        return len(self._seen)


def verify_identity(
    token: str,
    secret: str,
    *,
    method: str | None = None,
    path: str | None = None,
    max_lifetime_s: int = MAX_ASSERTION_LIFETIME_S,
    replay_guard: ReplayGuard | None = None,
) -> Principal:
    """Check an assertion; with `method` and `path`, it must have been minted for exactly that
    request (so one captured assertion cannot be replayed on another operation), and it may live
    no longer than `max_lifetime_s`; with `replay_guard`, it must carry an id not presented before
    (so it cannot be replayed on the same operation either)."""
    claims = decode_identity(token, secret)
    if int(claims["exp"]) - int(claims["iat"]) > max_lifetime_s:
        raise IdentityError("assertion lifetime exceeds the maximum")
    if method is not None and claims.get(METHOD_CLAIM) != method.upper():
        raise IdentityError("assertion not minted for this method")
    if path is not None and claims.get(PATH_CLAIM) != path:
        raise IdentityError("assertion not minted for this path")
    if replay_guard is not None:
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise IdentityError("assertion has no id (jti)")
        if not replay_guard.first_use(jti, int(claims["exp"])):
            raise IdentityError("assertion already used (replay)")
    return Principal(
        subject=str(claims["sub"]),
        kind=str(claims.get("kind", "staff")),
        roles=frozenset(str(r) for r in claims.get("roles", [])),
        agency_id=claims.get("agency"),
        name=claims.get("name"),
    )
