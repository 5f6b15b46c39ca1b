"""The tiny backend service of the gateway benchmark: one small JSON GET, as a service would answer."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/api/v1/referrals/{referral_id}")
async def get_referral(referral_id: str) -> dict[str, object]:
    return {"id": referral_id, "status": "received", "agency_id": "ag-1", "domains": ["domestic_abuse"]}


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ok"}
