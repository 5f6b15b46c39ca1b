"""Erasure leaves nothing of the person in any column (free text, outbox and audit included), a
person search keeps no search terms in the audit, and people the case-service never held are
erased by reference (a referral screened out or awaiting a match review, someone only ranked)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from case_testing import client_for, consume, envelope, headers, publish, screened
from hhpu_shared.audit import AuditEntry, keyed_terms
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.testing.scan import find_strings
from sqlmodel import Session, col, select

API = "/api/v1"
ERASE = {"reason_code": "erasure_request", "reason": "s.47 request upheld (DPO ref 9)"}
SUBJECT = PersonDetails(
    given_name="Lowri", family_name="Quarrington", date_of_birth=date(1931, 2, 17), pnc_number="31/123456X"
)
NEEDLES = ["Lowri", "Quarrington", "1931-02-17", "31/123456X"]


def _audit(rt: Any, **where: str) -> list[AuditEntry]:
    with Session(rt.engine) as s:
        q = select(AuditEntry).order_by(col(AuditEntry.id))
        for k, v in where.items():
            q = q.where(getattr(AuditEntry, k) == v)
        return list(s.exec(q).all())


def test_erasure_leaves_no_name_date_of_birth_or_pnc_in_any_column(tmp_path: Path) -> None:
    with client_for(f"sqlite:///{tmp_path}/case.db") as (client, rt):
        publish(rt, envelope(screened("ref-9", subject=SUBJECT), "ref-9"))
        consume(rt)
        sup = headers("unit_supervisor", subject="user:sup")
        om = headers("offender_manager")
        (a,) = client.get(f"{API}/assessments", params={"status": "open"}, headers=sup).json()["items"]
        pid = a["person_id"]
        body = {
            "decision": "adopt",
            "decided_by": "DI Hale",
            "cohort": "hhpu",
            "reason": "Lowri Quarrington: high",
        }
        r = client.post(f"{API}/assessments/{a['id']}/decision", json=body, headers=sup)
        assert r.status_code == 200, r.text
        (case,) = client.get(f"{API}/cases", headers=om).json()["items"]
        iv = client.post(
            f"{API}/cases/{case['id']}/interventions", json={"code": "dvpn", "agency": "police"}, headers=om
        ).json()
        r = client.patch(
            f"{API}/interventions/{iv['id']}", json={"outcome": "Quarrington served at home"}, headers=om
        )
        assert r.status_code == 200, r.text
        found = client.get(
            f"{API}/people", params={"family_name": "Quarrington", "date_of_birth": "1931-02-17"}, headers=om
        )
        assert found.json()["total"] == 1
        before = find_strings(rt.engine, NEEDLES)
        assert {"case_assessment_decision.reason", "case_intervention.outcome", "outbox.payload"} <= set(
            before["Quarrington"]
        )
        assert "audit_log.detail" not in before.get("Quarrington", [])  # the search kept no terms

        r = client.post(f"{API}/people/{pid}/erasure", json=ERASE, headers=headers("data_protection_officer"))
        assert r.status_code == 200, r.text
        assert r.json()["removed"]["intervention_outcomes_removed"] == 1
        assert find_strings(rt.engine, NEEDLES) == {}
        with Session(rt.engine) as s:
            kept = s.exec(select(OutboxRecord.type)).all()
        assert list(kept) == ["person.erased"]  # the events that named them are gone


def test_a_search_keeps_keyed_hashes_of_its_terms_never_the_terms(tmp_path: Path) -> None:
    with client_for(f"sqlite:///{tmp_path}/case.db") as (client, rt):
        params = {"q": "Lowri  Quarrington", "date_of_birth": "1931-02-17", "pnc": "31/123456X"}
        assert (
            client.get(f"{API}/people", params=params, headers=headers("offender_manager")).status_code == 200
        )
        (entry,) = _audit(rt, subject_type="person_search")
        detail = json.loads(entry.detail or "{}")
        # the terms as given (parts of them, "1931" say, can turn up by chance in the keyed hashes' hex)
        assert all(t not in entry.detail for t in ("Quarrington", "1931-02-17", "31/123456X", "123456X"))
        secret = rt.settings.internal_secret
        assert detail["criteria"] == keyed_terms(
            secret, {"name": "lowri quarrington", "date_of_birth": "1931-02-17", "identifier": "31/123456X"}
        )
        assert detail["criteria"]["name"].startswith("hmac-sha256:")
        assert keyed_terms("another-secret-of-32-characters-0000", {"name": "x"}) != keyed_terms(
            secret, {"name": "x"}
        )


def test_people_never_held_here_are_erased_by_reference(tmp_path: Path) -> None:
    with client_for(f"sqlite:///{tmp_path}/case.db") as (client, rt):
        dpo = headers("data_protection_officer", subject="user:dpo", why="DPO ref 9")
        publish(rt, envelope(screened("ref-known", subject=SUBJECT), "ref-known"))
        consume(rt)
        body = {**ERASE, "references": ["ref-waiting", "R-only-ranked"]}
        # Bad input changes nothing: no justification, a role that may not decide, no references, a
        # reference naming a person held here.
        for payload, hdrs, status, code in (
            (body, headers("data_protection_officer", why=None), 422, None),
            (body, headers("analyst"), 403, None),
            (body, headers("administrator"), 403, None),
            ({**ERASE, "references": []}, dpo, 422, None),
            ({**ERASE, "references": ["bad\nref"]}, dpo, 422, None),
            ({**ERASE, "references": ["ref-known"]}, dpo, 409, "person_known"),
        ):
            r = client.post(f"{API}/erasures", json=payload, headers=hdrs)
            assert r.status_code == status and r.headers["content-type"] == "application/problem+json", r.text
            assert code is None or r.json()["code"] == code
        assert _audit(rt, operation="erase") == []

        r = client.post(f"{API}/erasures", json=body, headers=dpo)
        assert r.status_code == 202, r.text
        assert r.json()["references"] == ["ref-waiting", "R-only-ranked"] and r.json()["person_id"] is None
        with Session(rt.engine) as s:
            (event,) = s.exec(select(OutboxRecord).where(OutboxRecord.type == "person.erased")).all()
        sent = json.loads(event.payload)["data"]
        assert sent["references"] == ["ref-waiting", "R-only-ranked"] and sent["decided_by"] == "user:dpo"
        erased = _audit(rt, operation="erase")
        assert {e.person_ref for e in erased} == {"ref-waiting", "R-only-ranked"}
        assert all(e.actor == "user:dpo" and e.justification.startswith("erasure_request:") for e in erased)
        again = client.post(f"{API}/erasures", json=body, headers=dpo)
        assert again.status_code == 409 and again.json()["code"] == "already_erased"

        # The referral's screening (or its match resolution) arriving late creates nobody.
        other = SUBJECT.model_copy(
            update={"given_name": "Idris", "family_name": "Vexford", "pnc_number": None}
        )
        publish(rt, envelope(screened("ref-waiting", subject=other), "ref-waiting"))
        consume(rt)
        assert find_strings(rt.engine, ["Vexford"]) == {}
        people = client.get(f"{API}/people", headers=headers("offender_manager")).json()
        assert people["total"] == 1  # only the person held before
