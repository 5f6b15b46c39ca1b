"""The running app: OpenAPI, the overdue-sweep worker and the consumer thread, extra handlers."""

from __future__ import annotations

import time
from typing import Any

from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.messaging.transport import OutboundMessage

API = "/api/v1"


def test_openapi_documents_the_routes_and_the_justification_header(harness: Any) -> None:
    r = harness.client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in [
        "/api/v1/meetings/{meeting_id}/agenda",
        "/api/v1/actions",
        "/api/v1/meetings/{meeting_id}/pack",
    ]:
        assert p in paths
    for p in ["/api/v1/meetings/{meeting_id}/agenda", "/api/v1/meetings/{meeting_id}/pack"]:
        headers = [x for x in paths[p]["get"]["parameters"] if x["in"] == "header"]
        assert [h["name"] for h in headers] == ["X-Justification"] and headers[0]["description"]
    assert harness.client.get("/readyz").json()["checks"]["database"] is True


def test_the_overdue_sweep_worker_and_the_consumer_run_in_the_app(make_harness: Any) -> None:
    h = make_harness(overdue_sweep_interval_s=0.05)
    with h.client as client:  # starts the runtime: relay, consumer thread, background workers
        action = client.post(
            f"{API}/meetings/{h.seed['next_meeting_id']}/actions",
            json={
                "description": "late",
                "owner_name": "x",
                "owner_agency_id": "housing",
                "due_date": "2020-01-01",
            },
            headers=h.chair(),
        ).json()

        def agenda_of(meeting_id: str) -> dict[str, Any]:
            r = client.get(f"{API}/meetings/{meeting_id}/agenda", headers=h.chair())
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

        deadline = time.monotonic() + 10
        flagged = False
        while time.monotonic() < deadline and not flagged:
            flagged = any(
                i["action_id"] == action["id"] for i in agenda_of(action["review_meeting_id"])["kept"]
            )
            time.sleep(0.05)
        assert flagged
        # the relay thread publishes without being asked
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(h.bus.messages("hhpu.action.events")) < 2:
            time.sleep(0.05)
        types = sorted(Envelope.from_bytes(m.value).type for m in h.bus.messages("hhpu.action.events"))
        assert types == ["action.created", "action.overdue_detected"]  # once each
        # the consumer thread picks up events from the bus
        data = AssessmentOpened(assessment_id="asm-t", person_id="per-t", person_label="T", triggers=())
        env = h.envelope_for(data, "asm-t")
        h.bus.append([OutboundMessage("hhpu.assessment.events", b"asm-t", env.to_bytes())])
        deadline = time.monotonic() + 10
        seen = False
        while time.monotonic() < deadline and not seen:
            seen = any(i["assessment_id"] == "asm-t" for i in agenda_of(h.seed["next_meeting_id"])["kept"])
            time.sleep(0.05)
        assert seen
        assert h.runtime.started
    assert not h.runtime.started  # the workers stop with the app


def test_handlers_use_the_settings_of_their_runtime(make_harness: Any) -> None:
    h = make_harness(new_case_minutes=11, review_minutes=4)
    h.emit(h.opened(1), "asm-1")
    h.consume()
    [item] = h.client.get(f"{API}/meetings/{h.seed['next_meeting_id']}/agenda", headers=h.chair()).json()[
        "kept"
    ]
    assert item["kind"] == "new_case" and item["planned_minutes"] == 11
    other = make_harness()  # a second runtime in the same process keeps its own settings
    other.emit(other.opened(2), "asm-2")
    other.consume()
    r = other.client.get(f"{API}/meetings/{other.seed['next_meeting_id']}/agenda", headers=other.chair())
    assert [i["planned_minutes"] for i in r.json()["kept"]] == [8]


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
    r = h.client.patch(f"{url}/probation", json={"response": "apologies"}, headers=h.partner("housing"))
    assert r.status_code == 404
    r = h.client.patch(f"{url}/housing", json={"attended": True}, headers=h.partner("housing"))
    assert r.status_code == 403
    om = h.staff("offender_manager")
    assert h.client.patch(f"{url}/housing", json={"attended": True}, headers=om).status_code == 403
