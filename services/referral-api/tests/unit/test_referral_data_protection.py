"""Data protection in the referral-api: one audit entry per person on every route that shows one,
bad input that changes nothing, subject access and erasure (the role x route x field matrix:
test_referral_field_matrix.py; every route's audit: test_referral_audit_routes.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from hhpu_shared.audit import AuditEntry
from hhpu_shared.events.contracts.case import AssessmentDecided, PersonErased
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.events.contracts.ranking import CandidateIdentified
from hhpu_shared.testing.plugin import identity_headers
from hhpu_shared.testing.scan import find_strings
from sqlmodel import Session, col, select

WHY = "case review 42"


def staff(role: str, why: str | None = WHY) -> dict[str, str]:
    h = identity_headers(role, subject=f"user:{role}")
    return {**h, "X-Justification": why} if why else h


def last_id(env: Any) -> int:
    with Session(env.runtime.engine) as s:
        ids = s.exec(select(AuditEntry.id).order_by(col(AuditEntry.id).desc()).limit(1)).all()
    return int(ids[0] or 0) if ids else 0


def rows_after(env: Any, since: int) -> list[AuditEntry]:
    with Session(env.runtime.engine) as s:
        return list(s.exec(select(AuditEntry).where(col(AuditEntry.id) > since)).all())


def test_each_referral_shown_gets_an_audit_entry(ref_env: Any, make_body: Any) -> None:
    a = ref_env.agency()
    ids = [ref_env.submit(a, make_body()).json()["id"] for _ in range(3)]
    for path, people in (
        ("/api/v1/referrals?limit=10", set(ids)),
        (f"/api/v1/referrals/{ids[0]}", {ids[0]}),
        (f"/api/v1/referrals/{ids[1]}/status", {ids[1]}),
    ):
        before = last_id(ref_env)
        r = ref_env.client.get(path, headers=staff("offender_manager"))
        assert r.status_code == 200, (path, r.text)
        rows = rows_after(ref_env, before)
        assert {e.person_ref for e in rows} == people, path
        assert all(
            (e.actor, e.operation, e.justification) == ("user:offender_manager", "consult", WHY) for e in rows
        )
        assert all(e.at is not None and e.correlation_id for e in rows)


def test_bad_input_is_a_problem_and_changes_nothing(ref_env: Any, make_body: Any) -> None:
    a, other = ref_env.agency(), ref_env.agency()
    rid = ref_env.submit(a, make_body()).json()["id"]
    before = last_id(ref_env)
    for path, headers, status in (
        (f"/api/v1/referrals/{rid}", staff("offender_manager", why=None), 422),  # no justification
        (f"/api/v1/referrals/{rid}", other.headers, 404),  # another agency's subject
        (f"/api/v1/referrals/{rid}/status", other.headers, 404),
        ("/api/v1/referrals/no-such-referral", staff("offender_manager"), 404),  # unknown person
        ("/api/v1/audit/referral-api", a.headers, 403),  # a partner may not read the audit
        ("/api/v1/subject-access/referral-api?person=nobody", staff("data_protection_officer"), 404),
    ):
        r = ref_env.client.get(path, headers=headers)
        assert r.status_code == status, (path, r.text)
        assert r.headers["content-type"] == "application/problem+json", path
    assert rows_after(ref_env, before) == []


def test_subject_access_then_erasure(ref_env: Any, make_body: Any) -> None:
    a = ref_env.agency()
    body = make_body()
    rid = ref_env.submit(a, body).json()["id"]
    dpo = staff("data_protection_officer", why="SAR-7")
    sar = ref_env.client.get(f"/api/v1/subject-access/referral-api?person={rid}", headers=dpo)
    assert sar.status_code == 200, sar.text
    assert (
        sar.json()["data"]["referrals"][0]["submission"]["subject"]["family_name"]
        == body["subject"]["family_name"]
    )
    assert any(e["operation"] == "collect" for e in sar.json()["audit"])
    ref_env.deliver(
        PersonErased(
            person_id="case-person-1",
            references=(rid,),
            decision_id="d1",
            decided_by="user:dpo",
            reason_code="erasure_request",
            reason="s.47 request upheld",
        ),
        "case-person-1",
    )
    after = ref_env.client.get(f"/api/v1/referrals/{rid}", headers=staff("unit_supervisor")).json()
    assert after["subject"]["family_name"] == "[erased]" and after["subject"].get("date_of_birth") is None
    assert after["partner_reference"] is None and after["concern"]["reason"] == "[erased]"
    trail = ref_env.client.get(f"/api/v1/audit/referral-api?person={rid}&operation=erase", headers=dpo).json()
    assert trail["total"] == 1 and trail["items"][0]["detail"]["decided_by"] == "user:dpo"
    assert ref_env.client.get("/api/v1/audit/referral-api/verify", headers=dpo).json()["ok"] is True


def _candidate(ref: str = "R-1") -> CandidateIdentified:
    subject = PersonDetails(
        given_name="Dean", family_name="Marsh", date_of_birth=date(1991, 3, 14), records_id=ref
    )
    return CandidateIdentified(
        run_id="run-1", person_ref=ref, rank=1, score=9.0, as_of=date(2026, 1, 1), provisional=False,
        subject=subject,
    )  # fmt: skip


def _erased(*refs: str) -> PersonErased:
    return PersonErased(
        person_id="case-person-1", references=refs, decision_id="d2", decided_by="user:dpo",
        reason_code="erasure_request", reason="s.47 request upheld",
    )  # fmt: skip


def test_erasure_leaves_no_name_date_of_birth_or_pnc_anywhere_and_nothing_brings_it_back(
    ref_env: Any, make_body: Any
) -> None:
    """Notes of the status history and the match reviews, the legal gateway's free text, the
    outbox's screened events and the known-person record all held the subject: after the erasure no
    column of the database does, a pending review is cancelled, and a late decision or a replayed
    ranking candidate brings nothing back."""
    needles = ["Dean", "Marsh", "1991-03-14", "91/123456X"]
    assert ref_env.deliver(_candidate(), "run-1") == 1  # a ranking candidate: a known person
    a = ref_env.agency()
    body = make_body(
        subject__pnc_number="91/123456X",
        legal_gateway="other",
        legal_gateway_detail="Information-sharing agreement signed for Dean Marsh",
    )
    rids = [ref_env.submit(a, body).json()["id"], ref_env.submit(a, make_body()).json()["id"]]
    sup = staff("unit_supervisor")
    pending = ref_env.client.get("/api/v1/match-reviews", headers=sup).json()["items"]
    by_referral = {rv["referral_id"]: rv["id"] for rv in pending}
    assert set(by_referral) == set(rids), pending  # both probable matches with the candidate
    r = ref_env.client.post(
        f"/api/v1/match-reviews/{by_referral[rids[0]]}/confirm",
        json={"note": "Same Dean Marsh: DOB and address agree"},
        headers=sup,
    )
    assert r.status_code == 200, r.text
    decided = AssessmentDecided(
        assessment_id="asm-1", person_id="case-person-1", decision="defer", decided_by="DI Hale",
        cohort=None, referral_ids=(rids[0],), reason="Dean Marsh: await the probation report",
    )  # fmt: skip
    ref_env.deliver(decided, "asm-1")
    found = find_strings(ref_env.runtime.engine, needles)
    assert {"ref_status_history.note", "ref_match_review.note", "ref_referral.payload"} <= set(found["Marsh"])
    assert "outbox.payload" in found["Marsh"] and "ref_referral.payload" in found["91/123456X"]

    ref_env.deliver(_erased("R-1", *rids), "case-person-1")
    assert find_strings(ref_env.runtime.engine, needles) == {}
    after = ref_env.client.get(f"/api/v1/referrals/{rids[0]}", headers=sup)
    assert after.status_code == 200 and after.json()["legal_gateway_detail"] == "[erased]", after.text
    review = ref_env.client.get(f"/api/v1/match-reviews/{by_referral[rids[1]]}", headers=sup).json()
    assert review["status"] == "cancelled"
    again = ref_env.client.post(f"/api/v1/match-reviews/{by_referral[rids[1]]}/confirm", headers=sup)
    assert again.status_code == 409

    # A replayed candidate (another topic than the erasure) and a late decision bring nothing back.
    ref_env.deliver(_candidate(), "run-1")
    ref_env.deliver(decided.model_copy(update={"decision": "decline"}), "asm-1")
    assert find_strings(ref_env.runtime.engine, needles) == {}
    status = ref_env.client.get(f"/api/v1/referrals/{rids[0]}/status", headers=sup).json()
    assert status["status"] == "declined"  # the decision itself is still applied, without its text


def test_matching_a_referral_is_a_combination_of_each_person_by_reference(
    ref_env: Any, make_body: Any
) -> None:
    """The intake's `combine` entry names the candidate by `person_ref` (not only in `detail`), so an
    audit query for the candidate finds that a referral was matched against them."""
    from datetime import date

    from hhpu_shared.events.contracts.common import PersonDetails
    from hhpu_shared.events.contracts.ranking import CandidateIdentified

    dean = PersonDetails(
        given_name="Dean", middle_names="John", family_name="Marsh", date_of_birth=date(1991, 3, 14)
    )
    ref_env.deliver(
        CandidateIdentified(
            run_id="run-1",
            person_ref="person-77",
            rank=3,
            score=1.0,
            as_of=date(2026, 3, 1),
            provisional=False,
            subject=dean,
        ),
        "run-1",
    )
    rid = ref_env.submit(ref_env.agency(), make_body()).json()["id"]
    with Session(ref_env.runtime.engine) as s:
        combined = s.exec(select(AuditEntry).where(AuditEntry.operation == "combine")).all()
    assert {e.person_ref for e in combined} == {rid, "person-77"}
    assert all(e.subject_id == rid for e in combined)
    dpo = staff("data_protection_officer", why="complaint C-12")
    trail = ref_env.client.get("/api/v1/audit/referral-api?person=person-77", headers=dpo).json()["items"]
    assert {(e["operation"], e["subject_id"]) for e in trail} >= {("collect", "person-77"), ("combine", rid)}
