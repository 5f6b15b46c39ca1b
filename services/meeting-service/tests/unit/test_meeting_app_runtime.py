"""The running app: OpenAPI, the overdue scheduler thread, the consumer thread, extra handlers."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.transport import OutboundMessage
from meeting_service.app import create_app
from meeting_service.seed import seed_demo
from meeting_service.settings import MeetingSettings

API = "/api/v1"


def test_openapi_documents_the_routes(harness: Any) -> None:
    r = harness.client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in [
        "/api/v1/meetings/{meeting_id}/agenda",
        "/api/v1/actions",
        "/api/v1/meetings/{meeting_id}/pack",
    ]:
        assert p in paths
    assert harness.client.get("/readyz").json()["checks"]["database"] is True


def test_scheduler_and_consumer_threads_run_in_the_app(tmp_path: Any) -> None:
    bus = InProcessBus()
    settings = MeetingSettings(
        database_url=f"sqlite:///{tmp_path}/m.db", overdue_sweep_interval_s=0.05, environment="test"
    )
    app = create_app(settings, bus=bus)
    runtime = app.state.runtime
    seed = seed_demo(runtime)
    with TestClient(app) as client:
        from meeting_service.service_actions import ActionService

        with runtime.unit_of_work() as uow:
            svc = ActionService(uow, settings)
            meeting = svc.meetings.get_meeting(seed["next_meeting_id"])
            action, _ = svc.record_action(
                meeting,
                None,
                {
                    "description": "late",
                    "owner_name": "x",
                    "owner_agency_id": "housing",
                    "due_date": date.today() - timedelta(days=1),
                },
            )
        deadline = time.monotonic() + 10
        flagged = False
        while time.monotonic() < deadline and not flagged:
            r = client.get(f"{API}/meetings/{action.review_meeting_id}/agenda", headers=_chair())
            flagged = any(i["action_id"] == action.id for i in r.json()["kept"])
            time.sleep(0.05)
        assert flagged
        # the relay thread publishes without being asked
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not bus.messages("hhpu.action.events"):
            time.sleep(0.05)
        types = [m.headers for m in bus.messages("hhpu.action.events")]
        assert len(types) == 2  # action.created and action.overdue_detected, once each
        # the consumer thread picks up events from the bus
        env = Envelope(
            type="assessment.opened",
            producer="case-service",
            correlation_id="c1",
            aggregate_type="assessment",
            aggregate_id="asm-t",
            data=AssessmentOpened(
                assessment_id="asm-t", person_id="per-t", person_label="T", triggers=()
            ).model_dump(mode="json"),
        )
        bus.append([OutboundMessage("hhpu.assessment.events", b"asm-t", env.to_bytes())])
        deadline = time.monotonic() + 10
        seen = False
        while time.monotonic() < deadline and not seen:
            r = client.get(f"{API}/meetings/{seed['next_meeting_id']}/agenda", headers=_chair())
            seen = any(i["assessment_id"] == "asm-t" for i in r.json()["kept"])
            time.sleep(0.05)
        assert seen
    assert runtime._sweep_thread is None


def _chair() -> dict[str, str]:
    from hhpu_shared.testing.plugin import identity_headers

    return identity_headers("meeting_chair", subject="user:chair")


def test_assessment_decided_elsewhere_withdraws_the_undecided_item(harness: Any) -> None:
    h = harness
    h.emit(h.opened(1), "asm-1")
    h.emit(h.opened(2), "asm-2")
    h.consume()
    for n, decision in [(1, "decline"), (2, "defer")]:
        h.emit(
            AssessmentDecided(
                assessment_id=f"asm-{n}",
                person_id=f"per-{n}",
                decision=decision,  # type: ignore[arg-type, unused-ignore]
                decided_by="DI Sarah Cole",
                cohort=None,
                referral_ids=(),
            ),
            f"asm-{n}",
        )
    h.consume()
    a = h.client.get(f"{API}/meetings/{h.seed['next_meeting_id']}/agenda", headers=h.chair()).json()
    assert [i["assessment_id"] for i in a["kept"]] == ["asm-2"]
    assert a["removed"][0]["assessment_id"] == "asm-1" and "decline" in a["removed"][0]["notes"]


def test_partner_can_send_apologies_for_its_own_agency_only(harness: Any) -> None:
    h = harness
    mid = h.seed["next_meeting_id"]
    url = f"{API}/meetings/{mid}/invitations"
    r = h.client.patch(f"{url}/housing", json={"response": "apologies"}, headers=h.partner("housing"))
    assert r.status_code == 200 and r.json()["response"] == "apologies"
    assert (
        h.client.patch(
            f"{url}/probation", json={"response": "apologies"}, headers=h.partner("housing")
        ).status_code
        == 404
    )
    assert (
        h.client.patch(f"{url}/housing", json={"attended": True}, headers=h.partner("housing")).status_code
        == 403
    )
    om = h.staff("offender_manager")
    assert h.client.patch(f"{url}/housing", json={"attended": True}, headers=om).status_code == 403
