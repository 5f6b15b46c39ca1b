"""A POST that committed but whose answer was lost: the retry with the same key gets the stored answer.

The referral-api runs under a real uvicorn server on PostgreSQL. The partner's request is written on
a raw socket that is reset once the server has taken the request (its Idempotency-Key is recorded),
without reading a byte of the answer, so the answer never reaches it (a timeout, a dropped line).
The partner retries with the same Idempotency-Key and gets the answer it missed, marked as a replay,
and nothing is stored twice.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from hhpu_shared.auth import IDENTITY_HEADER, Principal, mint_identity
from hhpu_shared.settings import DEV_INTERNAL_SECRET
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.plugin import identity_headers, rebind_test_identity, unique
from referral_api.app import create_app
from referral_api.migrations import MIGRATIONS
from referral_api.models import IdempotencyRecord, Referral
from referral_api.schemas import REFERRAL_EXAMPLE
from referral_api.settings import ReferralSettings
from sqlalchemy import Engine
from sqlmodel import Session, select

pytestmark = [pytest.mark.postgres]
ADMIN = identity_headers("administrator", subject="user:admin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(pg_url: str) -> Iterator[tuple[str, FastAPI]]:
    app = create_app(ReferralSettings(database_url=migrated(MIGRATIONS, pg_url)), run_consumer=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and t.is_alive(), "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        t.join(30)
        app.state.runtime.stop()
        app.state.runtime.engine.dispose()


def _stored(engine: Engine, key: str) -> IdempotencyRecord | None:
    with Session(engine) as s:
        return s.exec(select(IdempotencyRecord).where(IdempotencyRecord.key == key)).first()


def _send_and_drop(
    port: int, path: str, headers: dict[str, str], body: bytes, *, received: Callable[[], bool]
) -> None:
    """Send the request, wait until the server has it (`received`), then reset the connection
    without reading a byte of the answer (the partner's timeout, a dropped line).

    Resetting the instant the bytes are sent would race the server: a connection reset before the
    server has read the body is a request that never arrived, not a lost answer."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
        s.sendall(raw)
        deadline = time.monotonic() + 30
        while not received():
            assert time.monotonic() < deadline, "the server never took the request"
            time.sleep(0.005)


def test_retry_after_a_lost_answer_gets_the_stored_answer(served: tuple[str, FastAPI]) -> None:
    url, app = served
    port = int(url.rsplit(":", 1)[1])
    with httpx.Client(base_url=url, event_hooks={"request": [rebind_test_identity]}, timeout=30) as c:
        r = c.post(
            "/api/v1/agencies",
            json={"name": unique("Agency "), "agency_type": "probation", "contact_name": "Lead"},
            headers=ADMIN,
        )
        assert r.status_code == 201, r.text
        agency_id = r.json()["id"]
        partner = Principal(
            subject=f"agency:{agency_id}",
            kind="agency",
            roles=frozenset({"partner_agency"}),
            agency_id=agency_id,
        )
        body = {**REFERRAL_EXAMPLE, "partner_reference": unique("REF-")}
        key = unique("key-")
        path = "/api/v1/referrals"
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            IDENTITY_HEADER: mint_identity(partner, DEV_INTERNAL_SECRET, ttl_s=30, method="POST", path=path),
        }
        engine = app.state.runtime.engine
        _send_and_drop(
            port, path, headers, json.dumps(body).encode(), received=lambda: _stored(engine, key) is not None
        )

        # The server finished the request although nobody read the answer: the key holds it.
        deadline = time.monotonic() + 30
        stored = _stored(engine, key)
        while stored is None or stored.status_code == 0:
            assert time.monotonic() < deadline, "the dropped request was never committed"
            time.sleep(0.1)
            stored = _stored(engine, key)
        assert stored.status_code == 201

        partner_headers = identity_headers(
            "partner_agency", subject=f"agency:{agency_id}", agency_id=agency_id
        )
        retry = c.post(path, json=body, headers={"Idempotency-Key": key, **partner_headers})
        assert retry.status_code == 201, retry.text
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert retry.json() == json.loads(stored.response_body)
        assert retry.json()["id"] == stored.referral_id
        with Session(engine) as s:
            mine = s.exec(
                select(Referral).where(Referral.partner_reference == body["partner_reference"])
            ).all()
        assert [r.id for r in mine] == [stored.referral_id], "the retry stored the referral twice"
