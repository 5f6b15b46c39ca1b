"""Intake: screening on receipt, idempotent retries, duplicate references, events and audit."""

from __future__ import annotations

from hhpu_shared.audit import AuditEntry
from referral_api.models import IdempotencyRecord, Referral
from sqlmodel import Session, func, select


def _count(env, model) -> int:  # type: ignore[no-untyped-def]
    with Session(env.runtime.engine) as s:
        return int(s.exec(select(func.count()).select_from(model)).one())


def test_eligible_referral_is_screened_on_receipt(ref_env, make_body) -> None:
    a = ref_env.agency()
    r = ref_env.submit(a, make_body())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "screened"
    assert body["eligible"] is True
    assert "domain_in_scope:domestic_abuse" in body["screening_reasons"]
    assert body["agency_id"] == a.id
    assert body["match_grade"] is None  # a partner is not told whom the unit knows
    assert r.headers["location"] == f"/api/v1/referrals/{body['id']}"
    assert ref_env.event_types(body["id"]) == [
        "referral.submitted",
        "referral.status_changed",
        "referral.screened",
    ]


def test_ineligible_referral_is_kept_and_declined_with_reasons(ref_env, make_body) -> None:
    a = ref_env.agency()
    r = ref_env.submit(a, make_body(subject__date_of_birth="2020-01-01"))
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["status"] == "declined"
    assert r.json()["screening_reasons"] == ["below_minimum_age"]
    st = ref_env.client.get(f"/api/v1/referrals/{rid}/status", headers=a.headers).json()
    assert st["status"] == "declined"
    assert st["outcome"]["reason_code"] == "not_eligible"
    assert st["outcome"]["decided"] is True
    assert st["reasons"] == ["below_minimum_age"]
    assert [(h["from_status"], h["to_status"]) for h in st["history"]] == [
        (None, "submitted"),
        ("submitted", "screened"),
        ("screened", "declined"),
    ]
    types = ref_env.event_types(rid)
    assert types.count("referral.status_changed") == 2
    assert types.count("referral.screened") == 1


def test_agency_comes_from_credentials_not_body(ref_env, make_body) -> None:
    a = ref_env.agency()
    body = make_body()
    body["agency_id"] = "someone-else"
    r = ref_env.submit(a, body)
    assert r.status_code == 422
    assert r.json()["errors"][0] == {
        "field": "agency_id",
        "code": "unknown_field",
        "message": "Extra inputs are not permitted",
    }


def test_same_key_and_body_replays_the_original_response(ref_env, make_body) -> None:
    a = ref_env.agency()
    body = make_body()
    first = ref_env.submit(a, body, key="k-1")
    second = ref_env.submit(a, body, key="k-1")
    third = ref_env.submit(a, body, key="k-1")
    assert first.status_code == second.status_code == third.status_code == 201
    assert first.json() == second.json() == third.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _count(ref_env, Referral) == 1
    assert ref_env.event_types().count("referral.submitted") == 1


def test_same_key_with_another_body_is_refused(ref_env, make_body) -> None:
    a = ref_env.agency()
    body = make_body()
    first = ref_env.submit(a, body, key="k-2")
    other = dict(body, urgency="urgent")
    r = ref_env.submit(a, other, key="k-2")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "idempotency_key_reused"
    assert r.json()["referral_id"] == first.json()["id"]
    assert _count(ref_env, Referral) == 1


def test_idempotency_keys_are_scoped_per_agency(ref_env, make_body) -> None:
    a, b = ref_env.agency(), ref_env.agency()
    ra = ref_env.submit(a, make_body(), key="shared-key")
    rb = ref_env.submit(b, make_body(), key="shared-key")
    assert ra.status_code == rb.status_code == 201
    assert ra.json()["id"] != rb.json()["id"]
    assert rb.json()["agency_id"] == b.id
    assert _count(ref_env, IdempotencyRecord) == 2


def test_duplicate_partner_reference_is_409_with_the_existing_id(ref_env, make_body) -> None:
    a, b = ref_env.agency(), ref_env.agency()
    body = make_body(partner_reference="DAS-2026-0412")
    first = ref_env.submit(a, body)
    again = ref_env.submit(a, dict(body, urgency="urgent"))
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_partner_reference"
    assert again.json()["existing_referral_id"] == first.json()["id"]
    # another agency may use the same reference for its own case
    assert ref_env.submit(b, body).status_code == 201
    assert _count(ref_env, Referral) == 2


def test_receipt_is_audited_as_collection_with_the_given_justification(ref_env, make_body) -> None:
    a = ref_env.agency()
    headers = dict(a.headers, **{"X-Justification": "safeguarding concern raised by key worker"})
    r = ref_env.client.post("/api/v1/referrals", json=make_body(), headers=headers)
    rid = r.json()["id"]
    with Session(ref_env.runtime.engine) as s:
        rows = s.exec(select(AuditEntry).where(AuditEntry.subject_id == rid)).all()
    ops = [(e.operation, e.justification) for e in rows]
    assert ("collect", "safeguarding concern raised by key worker") in ops
    assert any(op == "alter" for op, _ in ops)
    collect = next(e for e in rows if e.operation == "collect")
    assert collect.actor_agency == a.id


def test_metrics_count_screening_and_replays(ref_env, make_body) -> None:
    a = ref_env.agency()
    body = make_body()
    ref_env.submit(a, body, key="m-1")
    ref_env.submit(a, body, key="m-1")
    text = ref_env.client.get("/metrics").text
    assert 'hhpu_referrals_screened_total{eligible="true",match_grade="none"}' in text
    assert "hhpu_referral_idempotent_replays_total" in text
    assert 'hhpu_referral_status_changes_total{to_status="screened"}' in text
