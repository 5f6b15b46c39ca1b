"""Calls from the gateway only (mounted under ``/internal/v1``)."""

from __future__ import annotations

from fastapi import APIRouter
from hhpu_shared.http import ReadUoWDep

from referral_api.routes.common import System
from referral_api.schemas_admin import KeyVerifyRequest, KeyVerifyResponse
from referral_api.service import agencies

router = APIRouter(tags=["internal"])


@router.post("/keys/verify", response_model=KeyVerifyResponse)
def verify_key(body: KeyVerifyRequest, uow: ReadUoWDep, _: System) -> KeyVerifyResponse:
    """Check a partner's API key for the gateway: its agency and scopes, or 401.

    Read-only (never waits for SQLite's write lock) and outside the request limit (``/internal/``),
    so partners are still recognised while the referral-api sheds load."""
    return agencies.verify_key(uow, body.key)
