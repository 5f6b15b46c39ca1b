"""Partner API keys: verified by the referral-api (which stores them hashed), cached briefly here.

The verifier is a protocol so unit tests can plug in a fake store. The cache holds positive
results only, keyed by a hash of the key, and is dropped when the gateway proxies a revocation.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Protocol

from hhpu_shared.auth import IDENTITY_HEADER, Principal, Role

from .identity import IdentityMinter
from .upstream import Upstream

VERIFY_PATH = "/internal/v1/keys/verify"


@dataclass(frozen=True)
class AgencyKey:
    key_id: str
    agency_id: str
    agency_name: str | None = None
    scopes: tuple[str, ...] = ()

    def principal(self) -> Principal:
        return Principal(
            subject=f"agency-key:{self.key_id}",
            kind="agency",
            roles=frozenset({Role.PARTNER_AGENCY.value}),
            agency_id=self.agency_id,
            name=self.agency_name,
        )


class KeyServiceError(Exception):
    """The key store could not answer (the gateway answers 503, never lets the caller in)."""


class KeyVerifier(Protocol):
    async def verify(self, key: str) -> AgencyKey | None:
        """The key's agency, or None when the key is unknown or revoked."""
        ...


class UpstreamKeyVerifier:
    """Asks the referral-api's internal endpoint, with the gateway's own system identity."""

    def __init__(self, upstream: Upstream, minter: IdentityMinter) -> None:
        self.upstream = upstream
        self.minter = minter

    async def verify(self, key: str) -> AgencyKey | None:
        headers = {
            IDENTITY_HEADER: self.minter.system_token("POST", VERIFY_PATH),
            "content-type": "application/json",
        }
        try:
            status, data = await self.upstream.call(
                "POST", VERIFY_PATH, headers, json.dumps({"key": key}).encode()
            )
        except Exception as exc:
            raise KeyServiceError(str(exc)) from exc
        if status in (401, 403, 404):
            return None
        if status != 200:
            raise KeyServiceError(f"key verification answered {status}")
        try:
            doc = json.loads(data)
            return AgencyKey(
                key_id=str(doc["key_id"]),
                agency_id=str(doc["agency_id"]),
                agency_name=doc.get("agency_name"),
                scopes=tuple(doc.get("scopes") or ()),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyServiceError("key verification gave an invalid answer") from exc


class CachingKeyVerifier:
    def __init__(self, inner: KeyVerifier, ttl_s: float) -> None:
        self.inner = inner
        self.ttl_s = ttl_s
        self._cache: dict[bytes, tuple[AgencyKey, float]] = {}

    async def verify(self, key: str) -> AgencyKey | None:
        if self.ttl_s <= 0:
            return await self.inner.verify(key)
        digest = hashlib.sha256(key.encode()).digest()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        found = await self.inner.verify(key)
        if found is None:
            self._cache.pop(digest, None)
            return None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (found, now + self.ttl_s)
        return found

    def invalidate(self) -> None:
        self._cache.clear()
