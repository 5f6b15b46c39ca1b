"""Signed webhooks from the outbox, posted to a real HTTP server on 127.0.0.1 by the webhook consumer."""

from __future__ import annotations

import json
import time

from hhpu_shared.audit import AuditEntry
from hhpu_shared.messaging.inbox import InboxRecord
from hhpu_shared.testing.plugin import identity_headers
from referral_api.domain.signing import sign, verify
from referral_api.models import WebhookAttempt
from sqlmodel import Session, col, select

ADMIN = identity_headers("administrator", subject="user:admin")


def _attempts(env, rid: str) -> list[WebhookAttempt]:  # type: ignore[no-untyped-def]
    with Session(env.runtime.engine) as s:
        stmt = (
            select(WebhookAttempt).where(WebhookAttempt.referral_id == rid).order_by(col(WebhookAttempt.id))
        )
        return list(s.exec(stmt).all())


def test_a_status_change_reaches_the_receiver_signed_over_timestamp_and_body(
    ref_env, make_body, receiver
) -> None:
    agency = ref_env.agency(webhook_url=receiver.url)
    assert agency.webhook_secret and agency.webhook_secret.startswith("whsec_")
    rid = ref_env.submit(agency, make_body()).json()["id"]
    assert receiver.calls == []  # nothing is posted in the request: the outbox carries it
    assert ref_env.webhooks() >= 1

    [(headers, body, _)] = receiver.calls  # submitted -> screened
    doc = json.loads(body)
    assert doc["referral_id"] == rid and doc["type"] == "referral.status_changed"
    assert (doc["from_status"], doc["to_status"], doc["reason_code"]) == ("submitted", "screened", "eligible")
    assert "subject" not in doc  # no personal data in a webhook
    assert headers["content-type"] == "application/json"
    ts, sig = headers["x-hhpu-timestamp"], headers["x-hhpu-signature"]
    assert abs(int(ts) - time.time()) < 60
    assert sig == sign(agency.webhook_secret, ts, body)
    assert verify(agency.webhook_secret, ts, body, sig, now=time.time())
    # altering the body, the timestamp or the secret breaks it; an old timestamp is refused
    assert not verify(agency.webhook_secret, ts, body.replace(b"screened", b"accepted"), sig, now=time.time())
    assert not verify(agency.webhook_secret, str(int(ts) + 1), body, sig, now=time.time())
    assert not verify("whsec_another", ts, body, sig, now=time.time())
    assert not verify(agency.webhook_secret, ts, body, sig, now=time.time() + 301)

    [attempt] = _attempts(ref_env, rid)
    assert (attempt.attempt, attempt.status_code, attempt.delivered) == (1, 204, True)
    assert attempt.event_id == doc["id"]
    with Session(ref_env.runtime.engine) as s:
        disclosures = s.exec(select(AuditEntry).where(AuditEntry.operation == "disclose")).all()
    assert [(d.subject_id, d.recipient) for d in disclosures] == [(rid, agency.id)]
    assert ref_env.webhooks() == 0 and len(receiver.calls) == 1  # delivered once, never again


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(ref_env, make_body, receiver) -> None:
    receiver.fail_first = 2
    agency = ref_env.agency(webhook_url=receiver.url)
    rid = ref_env.submit(agency, make_body()).json()["id"]
    ref_env.webhooks()

    assert len(receiver.calls) == 3  # two 503s, then 204, within one delivery try
    assert len({c[1] for c in receiver.calls}) == 1  # the same body (and id) on every post
    gaps = [b[2] - a[2] for a, b in zip(receiver.calls, receiver.calls[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1, gaps  # never sooner than the backoff
    assert [(a.attempt, a.status_code, a.delivered) for a in _attempts(ref_env, rid)] == [
        (1, 503, False),
        (2, 503, False),
        (3, 204, True),
    ]
    history = ref_env.client.get(f"/api/v1/agencies/{agency.id}/webhook-attempts", headers=agency.headers)
    assert history.status_code == 200
    assert [i["status_code"] for i in history.json()["items"]] == [204, 503, 503]  # newest first


def test_a_receiver_that_keeps_failing_is_dead_lettered_for_replay(ref_env, make_body, receiver) -> None:
    receiver.fail_first = 100
    agency = ref_env.agency(webhook_url=receiver.url)
    ref_env.submit(agency, make_body())
    ref_env.webhooks()

    settings, runtime = ref_env.runtime.settings, ref_env.runtime
    # every consumer try posts webhook_attempts times, then the message goes to the dead letters
    assert len(receiver.calls) == settings.consumer_max_attempts * settings.webhook_attempts
    assert runtime.bus is not None
    [dead] = runtime.bus.messages("hhpu.referral.events.DLT")
    headers = dict(dead.headers)
    assert headers["dlt_consumer_group"] == b"referral-api-webhooks"
    assert headers["dlt_error_type"] == b"WebhookNotDelivered"
    with Session(runtime.engine) as s:  # not marked handled: a replay of the dead letter is delivered
        claimed = s.exec(select(InboxRecord).where(InboxRecord.consumer_group == "referral-api-webhooks"))
        assert claimed.all() == []


def test_every_status_change_is_notified_and_agencies_without_webhook_get_none(
    ref_env, make_body, receiver
) -> None:
    agency = ref_env.agency(webhook_url=receiver.url)
    rid = ref_env.submit(agency, make_body(subject__date_of_birth="2021-01-01")).json()["id"]  # declined
    refused = ref_env.client.post(
        f"/api/v1/referrals/{rid}/withdraw", json={"reason_code": "other"}, headers=agency.headers
    )
    assert refused.status_code == 409  # the refused withdrawal notifies nothing
    quiet = ref_env.agency()
    quiet_rid = ref_env.submit(quiet, make_body()).json()["id"]
    ref_env.webhooks()
    assert [json.loads(c[1])["to_status"] for c in receiver.calls] == ["screened", "declined"]
    assert _attempts(ref_env, quiet_rid) == []


def test_webhook_secret_rotation_signs_with_the_new_secret(ref_env, make_body, receiver) -> None:
    agency = ref_env.agency(webhook_url=receiver.url)
    r = ref_env.client.post(f"/api/v1/agencies/{agency.id}/webhook-secret", headers=ADMIN)
    new_secret = r.json()["webhook_secret"]
    assert new_secret != agency.webhook_secret
    ref_env.submit(agency, make_body())
    ref_env.webhooks()
    [(headers, body, _)] = receiver.calls
    ts, sig = headers["x-hhpu-timestamp"], headers["x-hhpu-signature"]
    assert verify(new_secret, ts, body, sig, now=time.time())
    assert not verify(agency.webhook_secret or "", ts, body, sig, now=time.time())


def test_delivery_history_is_the_agencys_own(ref_env, make_body, receiver) -> None:
    agency = ref_env.agency(webhook_url=receiver.url)
    other = ref_env.agency()
    ref_env.submit(agency, make_body())
    ref_env.webhooks()
    url = f"/api/v1/agencies/{agency.id}/webhook-attempts"
    assert ref_env.client.get(url, headers=other.headers).status_code == 403
    staff = ref_env.client.get(url, headers=identity_headers("unit_supervisor", subject="user:sup"))
    assert staff.status_code == 200 and staff.json()["total"] == 1


def test_the_app_runs_the_webhook_consumer(ref_settings, make_body, receiver) -> None:
    from fastapi.testclient import TestClient
    from referral_api.app import create_app

    app = create_app(ref_settings, run_consumer=True)
    with TestClient(app) as client:
        r = client.post(
            "/api/v1/agencies",
            json={
                "name": "Housing",
                "agency_type": "housing",
                "contact_name": "x",
                "webhook_url": receiver.url,
            },
            headers=ADMIN,
        )
        aid = r.json()["id"]
        partner = identity_headers("partner_agency", subject="agency:h", agency_id=aid)
        assert client.post("/api/v1/referrals", json=make_body(), headers=partner).status_code == 201
        deadline = time.monotonic() + 10
        while not receiver.calls and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(receiver.calls) == 1
