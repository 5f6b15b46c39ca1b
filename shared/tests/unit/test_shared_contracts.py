"""Event registry, envelope, errors, audit and logging."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from hhpu_shared.audit import AuditEntry, AuditOperation, write_audit
from hhpu_shared.auth import IdentityError, Principal, mint_identity, verify_identity
from hhpu_shared.db import make_engine
from hhpu_shared.events.contracts.referral import ReferralWithdrawn
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, parse_data, register, registered_events, topic_for
from hhpu_shared.http import UoWDep, build_service_app
from hhpu_shared.logging import JsonFormatter
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.settings import ServiceSettings
from hhpu_shared.testing import steps
from hhpu_shared.testing.plugin import identity_headers
from pydantic import BaseModel, Field, ValidationError
from sqlmodel import Session, select


def test_every_event_is_past_tense_frozen_and_routed_by_aggregate() -> None:
    specs = registered_events()
    assert len(specs) >= 19
    for s in specs:
        assert s.topic == topic_for(s.aggregate_type) == f"hhpu.{s.aggregate_type}.events"
        assert s.model.model_config.get("frozen") is True
    with pytest.raises(ValueError, match="past tense"):
        register("referral.submit", aggregate="referral")


def test_envelope_round_trip_and_contract_validation() -> None:
    data = ReferralWithdrawn(referral_id="r1", agency_id="a1", reason_code="no_longer_needed")
    env = Envelope(
        type="referral.withdrawn",
        producer="t",
        correlation_id="c",
        aggregate_type="referral",
        aggregate_id="r1",
        data=data.model_dump(mode="json"),
    )
    again = Envelope.from_bytes(env.to_bytes())
    assert again == env
    assert parse_data(again) == data
    broken = env.model_copy(update={"data": {"referral_id": "r1"}})
    with pytest.raises(ValidationError):
        parse_data(broken)


def test_identity_assertion_verifies_and_refuses_forgery() -> None:
    p = Principal(subject="u1", kind="staff", roles=frozenset({"analyst"}))
    tok = mint_identity(p, "s" * 40)
    assert verify_identity(tok, "s" * 40) == p
    with pytest.raises(IdentityError):
        verify_identity(tok, "t" * 40)
    with pytest.raises(IdentityError):
        verify_identity(mint_identity(p, "s" * 40, ttl_s=-10), "s" * 40)


class Thing(BaseModel):
    name: str = Field(max_length=5)
    count: int


def _app(tmp_path):  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.post("/things", status_code=201)
    def create(body: Thing, uow: UoWDep) -> dict[str, str]:
        uow.audit(AuditOperation.COLLECT, subject_type="thing", subject_id=body.name, justification="test")
        return {"name": body.name}

    settings = ServiceSettings(service_name="t", database_url=f"sqlite:///{tmp_path}/t.db")
    runtime = ServiceRuntime(settings, migrations=steps.TestDomainSchema())  # type: ignore[arg-type]
    return build_service_app(runtime, title="t", description="t", routers=[router]), runtime


def test_problem_json_with_field_codes_and_nothing_stored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, runtime = _app(tmp_path)
    with TestClient(app) as c:
        r = c.post(
            "/api/v1/things", json={"name": "toolongname", "count": "x"}, headers=identity_headers("analyst")
        )
        assert r.status_code == 422
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["status"] == 422 and body["code"] == "validation_failed"
        codes = {e["field"]: e["code"] for e in body["errors"]}
        assert codes == {"name": "too_long", "count": "not_an_integer"}
        assert c.post("/api/v1/things", json={"name": "a", "count": 1}).status_code == 401
        ok = c.post(
            "/api/v1/things",
            json={"name": "a", "count": 1},
            headers=identity_headers("analyst", subject="u9"),
        )
        assert ok.status_code == 201 and ok.headers["x-request-id"]
    with Session(runtime.engine) as s:
        entries = s.exec(select(AuditEntry)).all()
    assert [(e.operation, e.actor, e.subject_id) for e in entries] == [("collect", "u9", "a")]


def test_audit_requires_justification(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eng = make_engine(f"sqlite:///{tmp_path}/a.db")
    steps.create_tables(eng)
    with Session(eng) as s, pytest.raises(ValueError):
        write_audit(
            s,
            service="t",
            operation=AuditOperation.CONSULT,
            principal=Principal("u", "staff"),
            subject_type="person",
            subject_id="p1",
            justification=" ",
        )


def test_json_logs_drop_unlisted_fields() -> None:
    fmt = JsonFormatter("svc")
    rec = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    rec.__dict__.update({"given_name": "Dean", "route": "/api/v1/people/{id}", "status": 200})
    out = json.loads(fmt.format(rec))
    assert out["route"] == "/api/v1/people/{id}" and out["status"] == 200
    assert "given_name" not in out and "Dean" not in json.dumps(out)


def test_json_logs_name_the_service_whose_work_runs() -> None:
    """Several services share one process in single-process mode: each line names its own."""
    import threading

    from hhpu_shared.background import ThreadLoop
    from hhpu_shared.context import service_var

    fmt = JsonFormatter("hhpu")

    def line() -> dict[str, object]:
        return dict(
            json.loads(fmt.format(logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)))
        )

    assert line()["service"] == "hhpu"  # nothing running: the process's name
    token = service_var.set("case-service")  # what the request middleware does
    try:
        assert line()["service"] == "case-service"
    finally:
        service_var.reset(token)
    seen: list[object] = []
    done = threading.Event()

    def step() -> float:
        seen.append(line()["service"])
        done.set()
        return 60.0

    loop = ThreadLoop("t", step, service="meeting-service")
    loop.start()
    try:
        assert done.wait(10)
    finally:
        loop.stop()
    assert seen == ["meeting-service"] and line()["service"] == "hhpu"


class _Unused(EventData):
    x: int
