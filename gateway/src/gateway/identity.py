"""Identity assertions for the services, minted per principal and reused for a few seconds."""

from __future__ import annotations

import time

from hhpu_shared.auth import Principal, mint_identity, system_principal

ASSERTION_TTL_S = 60


class IdentityMinter:
    def __init__(self, secret: str, cache_s: float) -> None:
        self.secret = secret
        self.cache_s = min(cache_s, ASSERTION_TTL_S / 2)  # a reused assertion keeps >= 30 s of validity
        self._cache: dict[Principal, tuple[bytes, float]] = {}
        self.system = system_principal("gateway")

    def token(self, principal: Principal) -> bytes:
        now = time.monotonic()
        hit = self._cache.get(principal)
        if hit is not None and hit[1] > now:
            return hit[0]
        tok: bytes = str(mint_identity(principal, self.secret, ttl_s=ASSERTION_TTL_S)).encode()
        if self.cache_s > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[principal] = (tok, now + self.cache_s)
        return tok

    def system_token(self) -> str:
        return self.token(self.system).decode()
