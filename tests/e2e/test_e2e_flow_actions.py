"""Flow 3, distributed: an action from last month's meeting goes overdue; the sweep flags it once,
puts it on the next meeting's agenda and on the dashboards; its agency sees it, no other does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hhpu.distributed import Cluster
from hhpu.testing import bearer, create_agency, eventually
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]


def test_overdue_action_reaches_the_next_agenda_and_the_dashboard(cluster: Cluster, gw: httpx.Client) -> None:
    housing, housing_key = create_agency(gw, "Housing Options", "housing")
    housing_id = housing["id"]
    _probation, probation_key = create_agency(gw, "Probation Service", "probation")
    chair = bearer("meeting_chair", sub="chair-lou", name="DCI Lou Barnes")
    today = datetime.now(UTC).date()
    # The meeting-service learns the agency and its single point of contact from agency.changed.
    eventually(
        lambda: any(
            a["id"] == housing_id for a in gw.get("/api/v1/meeting-agencies", headers=chair).json()["items"]
        ),
        what="the meeting-service knows the housing agency",
    )

    def meeting(on: object) -> str:
        r = gw.post(
            "/api/v1/meetings",
            headers=chair,
            json={
                "meeting_type_id": "monthly_mam",
                "scheduled_on": str(on),
                "invited_agency_ids": [housing_id],
            },
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    last_month = meeting(today - timedelta(days=28))
    next_month = meeting(today + timedelta(days=7))
    item = gw.post(
        f"/api/v1/meetings/{last_month}/agenda/items",
        headers=chair,
        json={"kind": "other", "title": "Accommodation for a managed person"},
    )
    assert item.status_code == 201, item.text
    action = gw.post(
        f"/api/v1/meetings/{last_month}/agenda/items/{item.json()['id']}/outcomes",
        headers=chair,
        json={
            "kind": "action",
            "description": "Housing to confirm the address",
            "owner_name": "Priya Shah",
            "owner_agency_id": housing_id,
            "due_date": str(today - timedelta(days=3)),
        },
    )
    assert action.status_code == 201, action.text
    action_id = action.json()["action_id"]

    # The overdue list shows it; the agency that owns it sees it, another agency does not.
    overdue = gw.get("/api/v1/actions", params={"overdue": "true"}, headers=chair).json()["items"]
    assert [a["id"] for a in overdue] == [action_id]
    assert [
        a["id"] for a in gw.get("/api/v1/actions", headers={"X-API-Key": housing_key}).json()["items"]
    ] == [action_id]
    assert gw.get("/api/v1/actions", headers={"X-API-Key": probation_key}).json()["items"] == []

    # The sweep flags it once, and puts it on the next meeting's agenda.
    first = gw.post("/api/v1/actions/overdue-sweep", headers=chair)
    assert first.status_code == 200, first.text
    assert first.json()["flagged"] == [action_id]
    assert gw.post("/api/v1/actions/overdue-sweep", headers=chair).json()["flagged"] == []
    # The next monthly meeting after last month's: ours, or one another test of this shared cluster
    # scheduled earlier (the default series makes the next meeting when a case needs one).
    later = gw.get(
        "/api/v1/meetings",
        params={"meeting_type_id": "monthly_mam", "from_date": str(today - timedelta(days=27)), "limit": 200},
        headers=chair,
    ).json()["items"]
    open_ids = [m["id"] for m in later if m["status"] in ("scheduled", "in_progress")]
    following = open_ids[0]
    assert next_month in open_ids
    agenda = gw.get(f"/api/v1/meetings/{following}/agenda", headers=chair).json()
    items = agenda["kept"] + [d["item"] for d in agenda["to_defer"]]
    assert [i["action_id"] for i in items if i["kind"] == "overdue_action"] == [action_id]

    # Exactly one event, published to Kafka by the relay.
    eng = create_engine(cluster.database_urls["meeting-service"])

    def published() -> bool:
        with eng.connect() as conn:
            rows = conn.execute(
                text("SELECT published_at FROM outbox WHERE type = 'action.overdue_detected'")
            ).all()
        assert len(rows) == 1
        return rows[0][0] is not None

    eventually(published, what="the overdue event published")
    eng.dispose()

    # The dashboards read the meeting-service's gauge.
    metrics = httpx.get(cluster.service_urls["meeting-service"] + "/metrics").text
    assert "hhpu_meeting_actions_overdue 1.0" in metrics
