"""``GET /api/v1/outbox/<service>`` (every service has it, from ``hhpu_shared.outbox_api``): what an
administrator sees when events wait: how many are pending, since when, and each pending event the
broker refused, oldest first, with the reason; never a payload or an aggregate id (no personal data);
administrators only; another service's name is a 404 (the gateway routes each name to its service)."""

from __future__ import annotations

from typing import Any

from hhpu_shared.testing.plugin import identity_headers
from sqlalchemy import text

API = "/api/v1/outbox"
ADMIN = identity_headers("administrator", subject="user:admin")
REFUSED = "RecordRefused: MessageSizeTooLargeError: The message is 1100085 bytes when serialized"


def test_the_outbox_shows_what_waits_and_what_the_broker_refused(ref_env: Any, make_body: Any) -> None:
    agency = ref_env.agency()
    for _ in range(2):
        assert ref_env.submit(agency, make_body()).status_code == 201
    with ref_env.runtime.engine.begin() as conn:
        conn.execute(text("UPDATE outbox SET published_at = NULL"))  # as if the broker were away
        rows = conn.execute(text("SELECT seq, type, topic FROM outbox ORDER BY seq")).all()
        seqs, kinds = [r[0] for r in rows], {r[0]: (r[1], r[2]) for r in rows}
        conn.execute(
            text("UPDATE outbox SET attempts = 3, last_error = :e WHERE seq IN (:a, :b)"),
            {"e": REFUSED, "a": seqs[2], "b": seqs[0]},
        )
    r = ref_env.client.get(f"{API}/referral-api", headers=ADMIN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["service"] == "referral-api" and body["pending"] == len(seqs)
    assert body["oldest_pending_at"] is not None
    failing = body["failing"]
    assert [f["seq"] for f in failing] == [seqs[0], seqs[2]]  # oldest first
    assert failing[0]["attempts"] == 3 and failing[0]["last_error"] == REFUSED
    assert (failing[0]["type"], failing[0]["topic"]) == kinds[seqs[0]]
    assert set(failing[0]) == {"seq", "type", "topic", "attempts", "last_error", "created_at"}
    assert agency.id not in r.text  # no payload, no aggregate id: nothing about a person or agency
    assert len(ref_env.client.get(f"{API}/referral-api?limit=1", headers=ADMIN).json()["failing"]) == 1


def test_the_outbox_is_the_administrators_and_each_service_answers_for_its_own(ref_env: Any) -> None:
    for role in ("unit_supervisor", "data_protection_officer", "analyst", "offender_manager"):
        r = ref_env.client.get(f"{API}/referral-api", headers=identity_headers(role, subject=f"user:{role}"))
        assert r.status_code == 403, (role, r.text)
        assert r.json()["code"] == "forbidden"
    assert ref_env.client.get(f"{API}/referral-api").status_code == 401
    other = ref_env.client.get(f"{API}/case-service", headers=ADMIN)
    assert other.status_code == 404 and other.headers["content-type"] == "application/problem+json"
    empty = ref_env.client.get(f"{API}/referral-api", headers=ADMIN).json()
    assert empty == {"service": "referral-api", "pending": 0, "oldest_pending_at": None, "failing": []}
