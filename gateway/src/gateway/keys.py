"""Partner API keys: verified by the referral-api (which stores them hashed), cached briefly here.

The verifier is a protocol so unit tests can plug in a fake store. The cache holds positive
results only, keyed by a hash of the key, and is dropped when the gateway proxies a revocation.
"""

from __future__ import annotations

import asyncio
import functools
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

    @functools.cached_property
    def principal(self) -> Principal:
        """Made once per verified key (the cached key answers every request with the same one)."""
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
    """Positive answers cached for `ttl_s`; concurrent checks of one key share one call (single flight),
    so a burst from one partner costs the key store one check, not one per request."""

    def __init__(self, inner: KeyVerifier, ttl_s: float) -> None:
        self.inner = inner
        self.ttl_s = ttl_s
        self._cache: dict[bytes, tuple[AgencyKey, float]] = {}
        self._flights: dict[bytes, asyncio.Future[AgencyKey | None]] = {}  # checks under way
        self._generation = 0

    async def verify(self, key: str) -> AgencyKey | None:
        digest = hashlib.sha256(key.encode()).digest()
        if self.ttl_s > 0:
            hit = self._cache.get(digest)
            if hit is not None and hit[1] > time.monotonic():
                return hit[0]
        flight = self._flights.get(digest)
        if flight is None:
            flight = asyncio.ensure_future(self._check(key, digest))
            self._flights[digest] = flight
            flight.add_done_callback(lambda done: self._landed(digest, done))
        return await asyncio.shield(flight)  # a caller that leaves never cancels the others' check

    def _landed(self, digest: bytes, flight: asyncio.Future[AgencyKey | None]) -> None:
        if self._flights.get(digest) is flight:
            del self._flights[digest]
        if not flight.cancelled():
            flight.exception()  # retrieved, even when every caller has left

    async def _check(self, key: str, digest: bytes) -> AgencyKey | None:
        generation = self._generation
        found = await self.inner.verify(key)
        if self.ttl_s <= 0 or generation != self._generation:
            return found  # caching off, or revoked keys were dropped meanwhile: not cached
        now = time.monotonic()
        if found is None:
            self._cache.pop(digest, None)
            return None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (found, now + self.ttl_s)
        return found

    def invalidate(self) -> None:
        self._generation += 1
        self._cache.clear()
        self._flights.clear()  # a check begun before a revocation is not joined by later callers
