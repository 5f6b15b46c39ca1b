"""A slow receiver holds no database lock: on make run's SQLite, while the webhook consumer waits on a
receiver that answers only after the test has written, the service takes a referral at once.

The busy timeout is short, so a held write lock would turn the referral into a 503 (not a slow 201);
the receiver is released by the test itself, so nothing here depends on timing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hhpu_shared.messaging.inbox import InboxRecord
from hhpu_shared.testing.databases import migrated
from referral_api.migrations import MIGRATIONS
from referral_api.models import WebhookAttempt
from referral_api.settings import ReferralSettings
from sqlmodel import Session, select


@pytest.fixture
def ref_settings(sqlite_url: str) -> ReferralSettings:
    return ReferralSettings(
        database_url=migrated(MIGRATIONS, sqlite_url),
        sqlite_busy_timeout_s=1.0,
        webhook_timeout_s=30.0,  # the receiver holds the post until the test releases it
        webhook_backoff_s=0.05,
    )


def test_intake_is_not_blocked_while_a_slow_receiver_is_being_tried(
    ref_env: Any, make_body: Any, receiver: Any
) -> None:
    assert ref_env.runtime.engine.dialect.name == "sqlite"
    receiver.release = threading.Event()
    agency = ref_env.agency(webhook_url=receiver.url)
    rid = ref_env.submit(agency, make_body()).json()["id"]
    ref_env.runtime.build_relay().drain()
    consumer = ref_env.runtime.build_extra_consumer("webhooks")
    worker = threading.Thread(target=consumer.run_once, args=(0.5,), daemon=True)
    worker.start()
    try:
        assert receiver.arrived.wait(30), "the status webhook was never posted"
        # The post is in flight, held by the receiver: intake writes now.
        second = ref_env.submit(agency, make_body())
        assert second.status_code == 201, second.text
    finally:
        receiver.release.set()
        worker.join(60)
    assert not worker.is_alive()
    with Session(ref_env.runtime.engine) as s:
        rows = s.exec(select(WebhookAttempt).where(WebhookAttempt.referral_id == rid)).all()
        assert [(a.attempt, a.status_code, a.delivered) for a in rows] == [(1, 204, True)]
        claimed = s.exec(
            select(InboxRecord).where(InboxRecord.consumer_group == "referral-api-webhooks")
        ).all()
        assert len(claimed) == 1  # the first status change: claimed after its post

    # A consumer that never saw the claim (a crash between the post and the claim, or a replayed
    # dead letter) finds the event delivered by its id and posts nothing again.
    calls = len(receiver.calls)
    replay = ref_env.runtime.build_extra_consumer("webhooks", group="referral-api-webhooks-replay")
    assert replay.run_once(0.5) >= 1
    posted_again = [c for c in receiver.calls[calls:] if rid.encode() in c[1]]
    assert posted_again == []
