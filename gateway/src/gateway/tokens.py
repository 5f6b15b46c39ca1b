"""Staff bearer tokens: JWT verification (RS256 via JWKS, HS256 development signer) and dev minting.

Verification pins the algorithm per key type (RS256 for JWKS keys, HS256 only for the dev secret),
so ``alg=none`` and HS/RS key confusion are refused; issuer, audience, expiry and subject are
required, and a token may live at most ``jwt_max_lifetime_s`` (exp-iat, and exp-now). Positive results
are cached by token for a few seconds (never past expiry).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from hhpu_shared.auth import STAFF_ROLES, Principal
from hhpu_shared.settings import DEVELOPMENT_MODES

from .settings import DEV_JWT_ISSUER, DEV_JWT_SECRET, JWT_AUDIENCE, GatewaySettings

log = logging.getLogger("hhpu.gateway.tokens")
_STAFF = frozenset(r.value for r in STAFF_ROLES)
JWT_CACHE_SIZE = 10_000  # verified tokens remembered (least recently used dropped first)


class TokenError(Exception):
    """The bearer token is not acceptable (message is safe to return to the caller)."""


def mint_dev_token(
    sub: str,
    roles: Iterable[str],
    *,
    name: str | None = None,
    agency: str | None = None,
    ttl_s: int = 3600,
    secret: str = DEV_JWT_SECRET,
    issuer: str = DEV_JWT_ISSUER,
    audience: str = JWT_AUDIENCE,
    private_key_pem: str | None = None,
    kid: str | None = None,
) -> str:
    """A development staff token: HS256 with `secret`, or RS256 when `private_key_pem` is given."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": sub,
        "roles": list(roles),
        "iat": now,
        "nbf": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
    }
    if name:
        claims["name"] = name
    if agency:
        claims["agency"] = agency
    if private_key_pem:
        return jwt.encode(claims, private_key_pem, algorithm="RS256", headers={"kid": kid} if kid else None)
    return jwt.encode(claims, secret, algorithm="HS256")


def generate_dev_keypair(kid: str = "dev-1") -> tuple[str, dict[str, Any]]:
    """A fresh RS256 key pair: (private key PEM, JWKS document with the public key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return pem, {"keys": [jwk]}


class JwtVerifier:
    """Verifies staff tokens against the configured JWKS and/or development secret."""

    def __init__(self, settings: GatewaySettings, jwks: dict[str, Any] | None = None) -> None:
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.leeway = settings.jwt_leeway_s
        self.cache_s = settings.jwt_cache_s
        self.dev_secret = (settings.jwt_dev_secret or "") if settings.environment in DEVELOPMENT_MODES else ""
        self.max_lifetime = settings.jwt_max_lifetime_s
        self.jwks_url = settings.jwt_jwks_url
        self._keys: dict[str | None, Any] = {}
        self.cache_size = JWT_CACHE_SIZE
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._last_fetch = 0.0
        if jwks is not None:
            self.load_jwks(jwks)
        elif settings.jwt_jwks_file:
            self.load_jwks(json.loads(Path(settings.jwt_jwks_file).read_text()))

    def load_jwks(self, doc: dict[str, Any]) -> None:
        keys: dict[str | None, Any] = {}
        for k in jwt.PyJWKSet.from_dict(doc).keys:
            if k.key_type == "RSA":
                keys[k.key_id] = k.key
        if len(keys) == 1:
            keys.setdefault(None, next(iter(keys.values())))  # a token without kid may use the only key
        self._keys = keys

    @property
    def needs_jwks_fetch(self) -> bool:
        return bool(self.jwks_url) and not self._keys

    def verify(self, token: str) -> Principal:
        """The token's principal; a token verified in the last `jwt_cache_s` (and not expired) is
        answered from a bounded LRU keyed by the whole token (PyJWT verifies every other one)."""
        now = time.monotonic()
        hit = self._cache.get(token)
        if hit is not None:
            if hit[1] > now:
                self._cache.move_to_end(token)
                return hit[0]
            del self._cache[token]
        principal, exp = self._verify(token)
        if self.cache_s > 0:
            ttl = min(self.cache_s, exp - time.time())
            if ttl > 0:
                self._cache[token] = (principal, now + ttl)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)  # the least recently used
        return principal

    def key_missing(self, token: str) -> bool:
        """True when an RS256 token names a key we do not have (the caller may refresh the JWKS)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return False
        return header.get("alg") == "RS256" and header.get("kid") not in self._keys

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenError("malformed token") from exc
        alg = header.get("alg")
        key: Any
        if alg == "RS256":
            key = self._keys.get(header.get("kid"))
            if key is None:
                raise TokenError("unknown signing key")
        elif alg == "HS256" and self.dev_secret:
            key = self.dev_secret
        else:
            raise TokenError("signing algorithm not accepted")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("token invalid") from exc
        exp = float(claims["exp"])
        iat = claims.get("iat")
        if exp - time.time() > self.max_lifetime + self.leeway or (
            isinstance(iat, int | float) and exp - float(iat) > self.max_lifetime
        ):
            raise TokenError(f"token lifetime exceeds {self.max_lifetime} s")
        roles = claims.get("roles", [])
        if not isinstance(roles, list):
            raise TokenError("roles claim must be a list")
        agency = claims.get("agency")
        principal = Principal(
            subject=str(claims["sub"]),
            kind="staff",
            roles=frozenset(str(r) for r in roles if str(r) in _STAFF),  # never partner/system via JWT
            agency_id=str(agency) if agency else None,
            name=str(claims["name"]) if claims.get("name") else None,
        )
        return principal, exp
