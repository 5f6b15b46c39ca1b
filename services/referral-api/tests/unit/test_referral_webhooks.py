"""Signed webhooks, delivered to a real HTTP server on 127.0.0.1 that fails the first calls."""

from __future__ import annotations

import json
import time

from hhpu_shared.audit import AuditEntry
from hhpu_shared.testing.plugin import identity_headers
from referral_api import repository as repo
from referral_api.domain.signing import backoff_delay, sign, verify
from referral_api.models import WebhookDelivery
from sqlmodel import Session, select

ADMIN = identity_headers("administrator", subject="user:admin")


def _deliveries(env, rid: str) -> list[WebhookDelivery]:  # type: ignore[no-untyped-def]
    with Session(env.runtime.engine) as s:
        return repo.deliveries_of(s, rid)


def _pump(env, until, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "webhook not delivered in time"
        env.runtime.deliverer.deliver_due()
        time.sleep(0.02)


def test_signed_webhook_is_retried_with_backoff_until_delivered(ref_env, make_body, receiver) -> None:
    receiver.fail_first = 2
    agency = ref_env.agency(webhook_url=receiver.url)
    assert agency.webhook_secret and agency.webhook_secret.startswith("whsec_")
    rid = ref_env.submit(agency, make_body()).json()["id"]
    [delivery] = _deliveries(ref_env, rid)  # submitted -> screened
    assert delivery.status == "pending"

    _pump(ref_env, lambda: _deliveries(ref_env, rid)[0].status == "delivered")
    assert len(receiver.calls) == 3  # two 503s, then 204
    headers, body, _ = receiver.calls[-1]
    assert headers["x-hhpu-signature"] == sign(body, agency.webhook_secret)
    assert verify(body, agency.webhook_secret, headers["x-hhpu-signature"])
    assert not verify(body, "another-secret", headers["x-hhpu-signature"])
    assert abs(int(headers["x-hhpu-timestamp"]) - time.time()) < 60
    assert headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["referral_id"] == rid
    assert (doc["from_status"], doc["to_status"], doc["reason_code"]) == ("submitted", "screened", "eligible")
    assert "subject" not in doc  # no personal data in a webhook
    assert all(c[1] == body for c in receiver.calls)  # the same signed body on every try
    gaps = [b[2] - a[2] for a, b in zip(receiver.calls, receiver.calls[1:], strict=False)]
    # never sooner than the backoff: 0.05 s after the first failure, 0.1 s after the second
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1, gaps

    with Session(ref_env.runtime.engine) as s:
        row = s.get(WebhookDelivery, delivery.id)
        assert row is not None and row.attempts == 3 and row.last_status_code == 204
        attempts = repo.attempts_of(s, delivery.id)
        disclosures = s.exec(select(AuditEntry).where(AuditEntry.operation == "disclose")).all()
    assert [a.status_code for a in attempts] == [503, 503, 204]
    assert [(d.subject_id, d.recipient) for d in disclosures] == [(rid, agency.id)]


def test_every_status_change_is_notified(ref_env, make_body, receiver) -> None:
    receiver.fail_first = 0
    agency = ref_env.agency(webhook_url=receiver.url)
    rid = ref_env.submit(agency, make_body(subject__date_of_birth="2021-01-01")).json()["id"]  # declined
    ref_env.client.post(
        f"/api/v1/referrals/{rid}/withdraw", json={"reason_code": "other"}, headers=agency.headers
    )
    assert len(_deliveries(ref_env, rid)) == 2  # the refused withdrawal notifies nothing
    _pump(ref_env, lambda: len(receiver.calls) == 2)
    seen = [json.loads(c[1])["to_status"] for c in receiver.calls]
    assert seen == ["screened", "declined"]


def test_delivery_gives_up_after_the_last_attempt(ref_env, make_body, receiver) -> None:
    receiver.fail_first = 100
    ref_env.runtime.settings.webhook_max_attempts = 3
    agency = ref_env.agency(webhook_url=receiver.url)
    rid = ref_env.submit(agency, make_body()).json()["id"]
    _pump(ref_env, lambda: _deliveries(ref_env, rid)[0].status == "failed")
    assert len(receiver.calls) == 3
    assert _deliveries(ref_env, rid)[0].last_error == "HTTP 503"


def test_unreachable_receiver_is_retried_and_agencies_without_webhook_get_none(ref_env, make_body) -> None:
    agency = ref_env.agency(webhook_url="http://127.0.0.1:9/closed")
    rid = ref_env.submit(agency, make_body()).json()["id"]
    ref_env.runtime.deliverer.deliver_due()
    [d] = _deliveries(ref_env, rid)
    assert d.status == "pending" and d.attempts == 1 and d.last_error == "ConnectError"
    quiet = ref_env.agency()
    quiet_rid = ref_env.submit(quiet, make_body()).json()["id"]
    assert _deliveries(ref_env, quiet_rid) == []


def test_webhook_secret_rotation_signs_with_the_new_secret(ref_env, make_body, receiver) -> None:
    receiver.fail_first = 0
    agency = ref_env.agency(webhook_url=receiver.url)
    r = ref_env.client.post(f"/api/v1/agencies/{agency.id}/webhook-secret", headers=ADMIN)
    new_secret = r.json()["webhook_secret"]
    assert new_secret != agency.webhook_secret
    ref_env.submit(agency, make_body())
    _pump(ref_env, lambda: len(receiver.calls) == 1)
    headers, body, _ = receiver.calls[0]
    assert verify(body, new_secret, headers["x-hhpu-signature"])


def test_the_app_starts_the_deliverer_thread(ref_settings, make_body, receiver) -> None:
    from fastapi.testclient import TestClient
    from referral_api.app import create_app

    receiver.fail_first = 0
    ref_settings.webhook_poll_s = 0.05
    app = create_app(ref_settings, run_consumer=False)
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


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(n, 2.0, 30.0) for n in (1, 2, 3, 4, 5)] == [2.0, 4.0, 8.0, 16.0, 30.0]
