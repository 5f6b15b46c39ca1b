"""Fixtures of the referral-api tests: a migrated app on SQLite, agencies with partner identities,
bodies, the webhook consumer driven by hand, and a real webhook receiver on 127.0.0.1."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, event_spec
from hhpu_shared.messaging.consumer import ConsumerRunner
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.plugin import identity_headers, unique
from referral_api.app import create_app
from referral_api.migrations import MIGRATIONS
from referral_api.schemas import REFERRAL_EXAMPLE
from referral_api.settings import ReferralSettings
from sqlmodel import Session, select

ADMIN = identity_headers("administrator", subject="user:admin")
STAFF = {**identity_headers("offender_manager", subject="user:om1"), "X-Justification": "test: review"}
SYSTEM = identity_headers("system", subject="system:gateway", kind="system")


@dataclass
class Agency:
    id: str
    name: str
    headers: dict[str, str]
    webhook_secret: str | None = None


@dataclass
class Env:
    app: FastAPI
    client: TestClient
    runtime: ServiceRuntime
    _webhook_consumer: ConsumerRunner | None = None

    def agency(self, name: str | None = None, webhook_url: str | None = None) -> Agency:
        body: dict[str, Any] = {
            "name": name or unique("Agency "),
            "agency_type": "drug_and_alcohol_service",
            "contact_name": "Referrals lead",
        }
        if webhook_url:
            body["webhook_url"] = webhook_url
        r = self.client.post("/api/v1/agencies", json=body, headers=ADMIN)
        assert r.status_code == 201, r.text
        data = r.json()
        headers = identity_headers("partner_agency", subject=f"agency:{data['id']}", agency_id=data["id"])
        return Agency(data["id"], data["name"], headers, data.get("webhook_secret"))

    def submit(self, agency: Agency, body: dict[str, Any], key: str | None = None) -> Any:
        headers = dict(agency.headers)
        if key:
            headers["Idempotency-Key"] = key
        return self.client.post("/api/v1/referrals", json=body, headers=headers)

    def event_types(self, referral_id: str | None = None) -> list[str]:
        with Session(self.runtime.engine) as s:
            stmt = select(OutboxRecord).order_by(OutboxRecord.seq)  # type: ignore[arg-type]
            rows = s.exec(stmt).all()
        return [r.type for r in rows if referral_id is None or r.aggregateid == referral_id]

    def deliver(self, data: EventData, aggregate_id: str) -> int:
        """Put an event on the in-process bus and let the service's consumer handle it."""
        spec = event_spec(data)
        env = Envelope(
            type=spec.name,
            producer="test",
            correlation_id=unique("c"),
            aggregate_type=spec.aggregate_type,
            aggregate_id=aggregate_id,
            data=data.model_dump(mode="json"),
        )
        assert self.runtime.bus is not None
        self.runtime.bus.append([OutboundMessage(spec.topic, aggregate_id.encode(), env.to_bytes(), [])])
        consumer = self.runtime.build_consumer()
        assert consumer is not None
        return consumer.run_once(0.1)

    def webhooks(self) -> int:
        """Publish the outbox and let the webhook consumer group handle what it finds."""
        self.runtime.build_relay().drain()
        if self._webhook_consumer is None:
            self._webhook_consumer = self.runtime.build_extra_consumer("webhooks")
        return self._webhook_consumer.run_once(0.1)

    def status(self, referral_id: str) -> str:
        r = self.client.get(f"/api/v1/referrals/{referral_id}", headers=STAFF)
        assert r.status_code == 200, r.text
        return str(r.json()["status"])


def settings_for(url: str, **overrides: Any) -> ReferralSettings:
    """Settings of a test app on a database migrated to head (fast webhook retries)."""
    values: dict[str, Any] = {"webhook_backoff_s": 0.05, "webhook_timeout_s": 2.0, **overrides}
    return ReferralSettings(database_url=migrated(MIGRATIONS, url), **values)


@pytest.fixture
def ref_settings(sqlite_url: str) -> ReferralSettings:
    return settings_for(sqlite_url)


@contextmanager
def _env(settings: ReferralSettings) -> Iterator[Env]:
    app = create_app(settings, run_consumer=False)
    runtime = app.state.runtime
    yield Env(app, TestClient(app), runtime)
    runtime.stop()
    runtime.engine.dispose()


@pytest.fixture
def ref_env(ref_settings: ReferralSettings) -> Iterator[Env]:
    with _env(ref_settings) as env:
        yield env


@pytest.fixture(scope="module")
def shared_ref_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """One app for a whole module, for tests that only add rows of their own."""
    url = f"sqlite:///{tmp_path_factory.mktemp('referral')}/shared.db"
    with _env(settings_for(url)) as env:
        yield env


@pytest.fixture
def make_body() -> Callable[..., dict[str, Any]]:
    """A valid referral body (the Dean Marsh example) with overrides by dotted path."""

    def make(**overrides: Any) -> dict[str, Any]:
        body = copy.deepcopy(REFERRAL_EXAMPLE)
        body["partner_reference"] = unique("DAS-")
        for path, value in overrides.items():
            node = body
            parts = path.split("__")
            for p in parts[:-1]:
                node = node[p]
            if value is ...:
                node.pop(parts[-1], None)
            else:
                node[parts[-1]] = value
        return body

    return make


class Receiver:
    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.calls: list[tuple[dict[str, str], bytes, float]] = []
        # Set `release` to hold every post until the test sets it (at most 20 s); `arrived` says one came.
        self.release: threading.Event | None = None
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.calls.append(
                    ({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                )
                if receiver.release is not None:
                    receiver.arrived.set()
                    receiver.release.wait(20)
                code = 503 if len(receiver.calls) <= receiver.fail_first else 204
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 that answers 503 to the first `fail_first` calls."""
    r = Receiver(fail_first=0)
    yield r
    r.close()
