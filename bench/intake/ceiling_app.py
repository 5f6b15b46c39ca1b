"""The ceiling for intake: a minimal FastAPI app that inserts the referral's JSON into PostgreSQL
(psycopg, async, a few pooled connections) and answers 201 with its id. Nothing else: no auth, no
validation beyond JSON, no events. bench_intake.py serves it with uvicorn like the referral-api.

Env: CEILING_DB_URL (a PostgreSQL URL), CEILING_POOL (4).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


def create_app() -> FastAPI:
    url = os.environ["CEILING_DB_URL"].replace("postgresql+psycopg://", "postgresql://")
    pool: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as c:
            await c.execute(
                "CREATE TABLE IF NOT EXISTS ceiling_referral "
                "(id uuid PRIMARY KEY, partner_reference text UNIQUE, body jsonb NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())"
            )
        conns = [
            await psycopg.AsyncConnection.connect(url)
            for _ in range(int(os.environ.get("CEILING_POOL", "4")))
        ]
        for c in conns:
            pool.put_nowait(c)
        yield
        for c in conns:
            await c.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/api/v1/referrals", status_code=201)
    async def insert(request: Request) -> JSONResponse:
        body = await request.json()
        rid = str(uuid.uuid4())
        conn = await pool.get()
        try:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO ceiling_referral (id, partner_reference, body) VALUES (%s, %s, %s)",
                    (rid, body.get("partner_reference"), json.dumps(body)),
                )
        finally:
            pool.put_nowait(conn)
        return JSONResponse({"id": rid, "status": "received"}, status_code=201)

    return app
