"""Flow 1, distributed: a partner's referral is screened, opens a suitability assessment, reaches
the next monthly meeting's agenda, is decided there, the case is adopted, and the referral's
status and the partner's signed webhook follow. Real Kafka, PostgreSQL and processes."""

from __future__ import annotations

import copy
import hashlib
import hmac
import re

import httpx
import pytest
from hhpu.distributed import Cluster
from hhpu.testing import WebhookReceiver, bearer, create_agency, db_scalar, eventually
from referral_api.schemas import REFERRAL_EXAMPLE
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]


def test_referral_flows_to_meeting_decision_and_back_to_the_partner(
    cluster: Cluster, gw: httpx.Client, webhook: WebhookReceiver
) -> None:
    das, das_key = create_agency(
        gw, "Surrey Drug and Alcohol Service", "drug_and_alcohol_service", webhook.url
    )
    _cs, cs_key = create_agency(gw, "Children's Services", "childrens_services")
    das_h = {"X-API-Key": das_key}

    # The partner's network times out; it retries with the same Idempotency-Key twice.
    body = copy.deepcopy(REFERRAL_EXAMPLE)
    replies = [
        gw.post("/api/v1/referrals", json=body, headers={**das_h, "Idempotency-Key": "das-2026-0412-a"})
        for _ in range(3)
    ]
    assert [r.status_code for r in replies] == [201, 201, 201], replies[0].text
    ids = {r.json()["id"] for r in replies}
    assert len(ids) == 1
    rid = ids.pop()

    # Another agency cannot see it.
    assert gw.get(f"/api/v1/referrals/{rid}", headers={"X-API-Key": cs_key}).status_code == 404

    # Screened eligible -> the case-service opens one assessment -> the referral is under assessment.
    def status() -> str:
        r = gw.get(f"/api/v1/referrals/{rid}/status", headers=das_h)
        assert r.status_code == 200, r.text
        return str(r.json()["status"])

    eventually(lambda: status() == "under_assessment", what="referral under assessment")

    supervisor = bearer("unit_supervisor", sub="di-morgan", name="DI Morgan Hale")
    chair = bearer("meeting_chair", sub="chair-lou", name="DCI Lou Barnes")
    assessments = gw.get("/api/v1/assessments", params={"status": "open"}, headers=supervisor)
    assert assessments.status_code == 200, assessments.text
    dean = [a for a in assessments.json()["items"] if any(t["ref"] == rid for t in a["triggers"])]
    assert len(dean) == 1
    assessment_id = dean[0]["id"]

    # The meeting-service puts one "new case" item for Dean on the next monthly meeting's agenda.
    def agenda_item() -> tuple[str, str] | None:
        meetings = gw.get("/api/v1/meetings", headers=chair).json()["items"]
        for m in meetings:
            agenda = gw.get(f"/api/v1/meetings/{m['id']}/agenda", headers=chair).json()
            items = agenda["kept"] + [d["item"] for d in agenda["to_defer"]]
            hits = [i for i in items if i.get("assessment_id") == assessment_id]
            if hits:
                assert len(hits) == 1
                return m["id"], hits[0]["id"]
        return None

    meeting_id, item_id = eventually(agenda_item, what="agenda item for the assessment")

    # The chair records "adopt into the HHPU cohort", decided by the unit's detective inspector.
    r = gw.post(
        f"/api/v1/meetings/{meeting_id}/agenda/items/{item_id}/outcomes",
        json={"kind": "decision", "decision": "adopt", "decided_by": "DI Morgan Hale", "cohort": "hhpu"},
        headers=chair,
    )
    assert r.status_code == 201, r.text

    # The case-service adopts the case; the referral becomes accepted; the webhook follows, signed.
    eventually(lambda: status() == "accepted", what="referral accepted")
    page = gw.get("/api/v1/cases", headers=supervisor).json()
    cases = [c for c in page["items"] if c["person_id"] == dean[0]["person_id"]]
    assert len(cases) == 1 and cases[0]["cohort"] == "hhpu" and cases[0]["status"] == "managed"

    hooks = eventually(
        lambda: [h for h in webhook.received if h["json"].get("to_status") == "accepted"] or None,
        what="accepted webhook",
    )
    secret = das["webhook_secret"]
    h = hooks[0]
    sig = {k.lower(): v for k, v in h["headers"].items()}["x-hhpu-signature"]
    assert sig.startswith("sha256=")
    expected = hmac.new(secret.encode(), _signed_bytes(h), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(sig.removeprefix("sha256="), expected)

    # Exactly once: one assessment, one agenda item, one decision event, one case. The cluster is
    # shared by the whole run, so each count is about this flow's own assessment and case only.
    case_db, meeting_db = cluster.database_urls["case-service"], cluster.database_urls["meeting-service"]
    about = "convert_from(payload, 'UTF8') LIKE :needle"
    mine = {"needle": f"%{assessment_id}%"}
    assert (
        db_scalar(
            meeting_db,
            f"SELECT count(*) FROM outbox WHERE type = 'meeting.decision_recorded' AND {about}",
            **mine,
        )
        == 1
    )
    assert (
        db_scalar(
            case_db, f"SELECT count(*) FROM outbox WHERE type = 'assessment.opened' AND {about}", **mine
        )
        == 1
    )
    case_id = {"needle": f"%{cases[0]['id']}%"}
    assert (
        db_scalar(case_db, f"SELECT count(*) FROM outbox WHERE type = 'case.adopted' AND {about}", **case_id)
        == 1
    )
    _assert_every_event_handled_once(cluster)

    # The consumer processes serve their own metrics (what the lag and dead-letter alerts read).
    case_metrics = httpx.get(cluster.consumer_metrics_urls["case-service"]).text
    consumed = re.findall(r'hhpu_events_consumed_total\{[^}]*outcome="ok"[^}]*\} ([0-9.]+)', case_metrics)
    assert consumed and sum(float(v) for v in consumed) >= 2  # the screening and the decision at least
    assert "hhpu_consumer_lag" in case_metrics
    # The API process reads its groups' lag and live members from the broker (seen while the
    # consumer is dead): here, the live consumer is its group's one member.
    members = re.compile(r'hhpu_consumer_group_members\{[^}]*group="case-service"[^}]*\} ([0-9.]+)')

    def one_member() -> bool:
        found = members.findall(httpx.get(cluster.service_urls["case-service"] + "/metrics").text)
        return found == ["1.0"]

    eventually(one_member, timeout_s=60, what="the case-service API to see its consumer group's member")


def _signed_bytes(hook: dict) -> bytes:
    """What the signature covers: the timestamp header, a dot, and the body."""
    body: bytes = hook["body"]
    stamp = next(v for k, v in hook["headers"].items() if k.lower() == "x-hhpu-timestamp")
    return str(stamp).encode() + b"." + body


def _assert_every_event_handled_once(cluster: Cluster) -> None:
    """Every event a service published and another consumes is in that consumer's inbox once."""
    from case_service.handlers import handlers as case_h
    from meeting_service.handlers import handlers as meeting_h
    from ranking_service.handlers import handlers as ranking_h
    from referral_api.handlers import handlers as referral_h

    consumers = {
        "case-service": case_h,
        "meeting-service": meeting_h,
        "ranking-service": ranking_h,
        "referral-api": referral_h,
    }
    published: list[tuple[str, str]] = []
    for url in cluster.database_urls.values():
        eng = create_engine(url)
        with eng.connect() as conn:
            published += [(r[0], r[1]) for r in conn.execute(text("SELECT id, type FROM outbox"))]
        eng.dispose()
    for name, registry in consumers.items():
        handled = {name for name, _version in registry.handlers}
        assert handled, f"{name} handles no event"
        wanted = {eid for eid, etype in published if etype in handled}

        def inbox_ids(url: str = cluster.database_urls[name], wanted: set[str] = wanted) -> set[str] | None:
            eng = create_engine(url)
            with eng.connect() as conn:
                ids = {r[0] for r in conn.execute(text("SELECT event_id FROM inbox"))}
            eng.dispose()
            return ids if wanted <= ids else None

        eventually(inbox_ids, what=f"{name} handled every event it consumes")
