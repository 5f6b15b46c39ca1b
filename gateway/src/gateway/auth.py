"""Who is calling: a partner API key (``X-API-Key`` or ``Authorization: ApiKey``) or a staff JWT."""

from __future__ import annotations

from hhpu_shared.auth import Principal

from .keys import KeyVerifier
from .tokens import JwtVerifier, TokenError


class AuthError(Exception):
    """Credentials were presented but are not valid (401)."""


class Authenticator:
    def __init__(self, jwt: JwtVerifier, keys: KeyVerifier) -> None:
        self.jwt = jwt
        self.keys = keys
        self.refresh_jwks: object = None  # set by the app: async callable refreshing the JWKS

    async def authenticate(
        self, api_key: bytes | None, authorization: bytes | None
    ) -> tuple[Principal | None, tuple[str, ...] | None]:
        """(principal, partner key scopes or None for staff); (None, None) without credentials.

        Raises AuthError for bad credentials, KeyServiceError when keys cannot be checked."""
        if authorization:
            scheme, _, cred = authorization.decode("latin-1").partition(" ")
            scheme = scheme.lower()
            cred = cred.strip()
            if scheme == "bearer" and cred:
                return await self._staff(cred), None
            if scheme == "apikey" and cred:
                return await self._partner(cred)
            raise AuthError("unsupported authorization scheme")
        if api_key:
            return await self._partner(api_key.decode("latin-1").strip())
        return None, None

    async def _partner(self, key: str) -> tuple[Principal, tuple[str, ...]]:
        if not key or len(key) > 300:
            raise AuthError("invalid API key")
        found = await self.keys.verify(key)
        if found is None:
            raise AuthError("invalid or revoked API key")
        return found.principal, found.scopes

    async def _staff(self, token: str) -> Principal:
        try:
            return self.jwt.verify(token)
        except TokenError as exc:
            if self.jwt.key_missing(token) and callable(self.refresh_jwks):
                if await self.refresh_jwks():
                    try:
                        return self.jwt.verify(token)
                    except TokenError as exc2:
                        raise AuthError(str(exc2)) from exc2
            raise AuthError(str(exc)) from exc
