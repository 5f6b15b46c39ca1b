"""Data protection decided in the case-service: subject access, restriction and erasure (emitted to
every service), bad input that changes nothing, and one audit entry per case in the team caseload."""

from __future__ import annotations

import json
from pathlib import Path

from case_testing import adopt_by_hand, client_for, headers, outbox_types
from hhpu_shared.audit import AuditEntry
from hhpu_shared.messaging.outbox import OutboxRecord
from sqlmodel import Session, col, select

API = "/api/v1"
ERASE = {"reason_code": "erasure_request", "reason": "s.47 request upheld (DPO ref 7)"}


def test_subject_access_restriction_and_erasure(tmp_path: Path) -> None:
    with client_for(f"sqlite:///{tmp_path}/case.db") as (client, rt):
        om, dpo = (
            headers("offender_manager"),
            headers("data_protection_officer", subject="user:dpo", why="SAR 7"),
        )
        body = {
            "given_name": "Kim",
            "family_name": "Ray",
            "date_of_birth": "1990-02-03",
            "records_id": "R-77",
        }
        p = client.post(f"{API}/people", json=body, headers=om).json()
        pid = p["id"]
        c = client.post(
            f"{API}/cases",
            json={"person_id": pid, "cohort": "hhpu", "identified_by": "algorithm"},
            headers=om,
        )
        assert c.status_code == 201, c.text
        client.post(
            f"{API}/cases/{c.json()['id']}/notes",
            json={"kind": "fact", "text": "Kim seen at the address"},
            headers=om,
        )

        sar = client.get(f"{API}/subject-access/case-service", params={"person": "R-77"}, headers=dpo)
        assert sar.status_code == 200, sar.text
        data = sar.json()["data"]
        assert (
            data["people"][0]["family_name"] == "Ray"
            and data["notes"][0]["text"] == "Kim seen at the address"
        )
        assert set(data["references"][pid]) == {pid, "R-77"}
        assert any(e["operation"] == "collect" and e["person_ref"] == pid for e in sar.json()["audit"]), (
            sar.json()["audit"]
        )

        # Bad input changes nothing.
        before = outbox_types(rt)
        for url, hdrs, want in (
            (f"{API}/people/{pid}/erasure", headers("data_protection_officer", why=None), 422),
            (f"{API}/people/no-such-person/erasure", dpo, 404),
            (f"{API}/people/{pid}/erasure", headers("analyst"), 403),
            (f"{API}/people/{pid}/erasure", headers("offender_manager"), 403),
        ):
            r = client.post(url, json=ERASE, headers=hdrs)
            assert r.status_code == want and r.headers["content-type"] == "application/problem+json", (
                url,
                r.text,
            )
        bad = client.post(
            f"{API}/people/{pid}/erasure", json={"reason_code": "whim", "reason": "x"}, headers=dpo
        )
        assert bad.status_code == 422 and {e["field"] for e in bad.json()["errors"]} >= {"reason_code"}
        assert outbox_types(rt) == before
        assert client.get(f"{API}/people/{pid}", headers=om).json()["family_name"] == "Ray"

        r = client.post(
            f"{API}/people/{pid}/restriction", json={"reason_code": "accuracy_contested"}, headers=dpo
        )
        assert r.status_code == 200, r.text
        upd = client.patch(f"{API}/people/{pid}", json={"area": "Guildford"}, headers=om)
        assert upd.status_code == 409 and upd.json()["code"] == "restricted"

        r = client.post(f"{API}/people/{pid}/erasure", json=ERASE, headers=dpo)
        assert r.status_code == 200, r.text
        assert client.post(f"{API}/people/{pid}/erasure", json=ERASE, headers=dpo).status_code == 409
        got = client.get(f"{API}/people/{pid}", headers=om).json()
        assert (
            got["family_name"] == "[erased]"
            and got["date_of_birth"] is None
            and got.get("records_id") is None
        )
        with Session(rt.engine) as s:
            events = s.exec(select(OutboxRecord).where(OutboxRecord.type == "person.erased")).all()
            erased = s.exec(select(AuditEntry).where(AuditEntry.operation == "erase")).all()
        assert len(events) == 1
        sent = json.loads(events[0].payload)["data"]
        assert set(sent["references"]) == {pid, "R-77"} and sent["decided_by"] == "user:dpo"
        # the birth date itself: a bare "1990" can turn up by chance in a decision id's hex
        assert "Ray" not in json.dumps(sent) and "1990-02-03" not in json.dumps(sent)
        assert {e.person_ref for e in erased} == {pid, "R-77"}
        assert all(
            e.actor == "user:dpo" and e.justification.startswith("erasure_request: s.47") for e in erased
        )
        assert client.get(f"{API}/people", params={"limit": 50}, headers=om).text.count("Kim") == 0
        assert client.get(f"{API}/audit/case-service/verify", headers=dpo).json()["ok"] is True


def test_team_caseload_audits_each_case_shown(tmp_path: Path) -> None:
    """Two managers, three managed cases all on one: the team caseload proposes moves, naming cases,
    and each case it names is one consultation of that case's person (not one entry for the view)."""
    with client_for(f"sqlite:///{tmp_path}/case.db") as (client, rt):
        sup = headers("unit_supervisor", subject="user:sup")
        ann = client.post(f"{API}/managers", json={"staff_id": "om-ann", "name": "PC Ann Lee"}, headers=sup)
        client.post(f"{API}/managers", json={"staff_id": "om-raj", "name": "PC Raj Patel"}, headers=sup)
        person_of: dict[str, str] = {}
        for given in ("Kim", "Lou", "Max"):
            pid = client.post(
                f"{API}/people", json={"given_name": given, "family_name": "Ray"}, headers=sup
            ).json()
            body = {"person_id": pid["id"], "cohort": "hhpu", "identified_by": "internal_referral"}
            cid = client.post(f"{API}/cases", json=body, headers=sup).json()["id"]
            assert adopt_by_hand(client, cid).status_code == 200
            give = {"manager_id": ann.json()["id"], "accept_over_capacity": True}
            assert client.post(f"{API}/cases/{cid}/allocation", json=give, headers=sup).status_code == 200
            person_of[cid] = pid["id"]
        with Session(rt.engine) as s:
            first = s.exec(select(AuditEntry.id).order_by(col(AuditEntry.id).desc()).limit(1)).first() or 0
        r = client.get(f"{API}/managers/caseload", headers=sup)
        assert r.status_code == 200, r.text
        shown = [m["case_id"] for m in r.json()["rebalancing"]]
        assert shown, "the view names cases (else this test would prove nothing)"
        with Session(rt.engine) as s:
            rows = s.exec(select(AuditEntry).where(col(AuditEntry.id) > first)).all()
        assert sorted((e.subject_id, e.person_ref) for e in rows) == sorted((c, person_of[c]) for c in shown)
        assert all(
            (e.actor, e.operation, e.justification, e.subject_type)
            == ("user:sup", "consult", "test: case review", "case")
            for e in rows
        )
