"""The audit trail records every read and write a test run makes (DPA 2018 s.62)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from case_testing import client_for, consume, envelope, headers, publish, screened
from fastapi.testclient import TestClient
from hhpu_shared.audit import AuditEntry
from hhpu_shared.runtime import ServiceRuntime
from sqlmodel import Session, select


class Recorder:
    """Calls the API with a unique justification per request and remembers what must be audited."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.n = 0
        self.expected: list[tuple[str, str, str, str]] = []  # (justification, operation, subject_type, id)
        self.touched: list[int] = []

    def call(
        self,
        method: str,
        path: str,
        *,
        ops: list[tuple[str, str, str]] | None = None,
        role: str = "offender_manager",
        json_body: Any = None,
        status: int = 200,
    ) -> Any:
        self.n += 1
        why = f"audit test step {self.n}"
        r = self.client.request(
            method, path, json=json_body, headers=headers(role, why=why, subject="user:auditor")
        )
        assert r.status_code == status, (path, r.text)
        body = r.json() if "json" in r.headers.get("content-type", "") else r.text
        for op, stype, sid in ops or []:
            sid = sid.format(**body) if isinstance(body, dict) else sid
            self.expected.append((why, op, stype, sid))
        return body


def test_case_audit_trail_is_complete(sqlite_url: str) -> None:
    with client_for(sqlite_url) as (client, rt):
        rec = Recorder(client)
        run(rec, rt)
        with Session(rt.engine) as s:
            entries = s.exec(select(AuditEntry)).all()
        by_why: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
        for e in entries:
            by_why[e.justification].add((e.operation, e.subject_type, e.subject_id))
            assert e.at is not None and e.actor
            if e.justification.startswith("audit test"):
                assert e.actor == "user:auditor" and e.actor_kind == "staff"
        missing = [x for x in rec.expected if (x[1], x[2], x[3]) not in by_why[x[0]]]
        assert not missing, missing
        # every request that touched personal data left at least one entry
        assert all(f"audit test step {i}" in by_why for i in rec.touched)
        # the event-driven writes were audited as system collections with their purpose
        system = [e for e in entries if e.actor.startswith("system:")]
        assert {e.operation for e in system} >= {"collect"}
        assert all("automatic" in e.justification for e in system)
        detail = [json.loads(e.detail) for e in entries if e.detail]
        assert detail  # details are JSON


def run(rec: Recorder, rt: ServiceRuntime) -> None:
    sup = "unit_supervisor"

    def step(*args: Any, **kw: Any) -> Any:
        out = rec.call(*args, **kw)
        rec.touched.append(rec.n)
        return out

    p = step(
        "POST",
        "/api/v1/people",
        json_body={"given_name": "Ava", "family_name": "Cole"},
        status=201,
        ops=[("collect", "person", "{id}")],
    )
    pid = p["id"]
    step("GET", f"/api/v1/people/{pid}", ops=[("consult", "person", pid)])
    step("GET", "/api/v1/people", ops=[("consult", "person", pid)])
    step("PATCH", f"/api/v1/people/{pid}", json_body={"area": "east"}, ops=[("alter", "person", pid)])
    q = step(
        "POST",
        "/api/v1/people",
        json_body={"given_name": "Ava", "family_name": "Cole2"},
        status=201,
        ops=[("collect", "person", "{id}")],
    )
    step(
        "POST",
        f"/api/v1/people/{pid}/merge",
        role=sup,
        json_body={"merged_person_id": q["id"]},
        ops=[("combine", "person", pid), ("combine", "person", q["id"])],
    )
    c = step(
        "POST",
        "/api/v1/cases",
        status=201,
        json_body={"person_id": pid, "cohort": "hhpu", "identified_by": "internal_referral"},
        ops=[("collect", "case", "{id}")],
    )
    cid = c["id"]
    step("GET", f"/api/v1/cases/{cid}", ops=[("consult", "case", cid)])
    step("GET", "/api/v1/cases", ops=[("consult", "case", cid)])
    step(
        "PATCH",
        f"/api/v1/cases/{cid}",
        json_body={"statutory_status": "licence"},
        ops=[("alter", "case", cid)],
    )
    step(
        "POST",
        f"/api/v1/cases/{cid}/transitions",
        json_body={"to": "under_assessment"},
        ops=[("alter", "case", cid)],
    )
    step(
        "POST",
        f"/api/v1/cases/{cid}/transitions",
        role="unit_supervisor",
        json_body={"to": "managed", "decided_by": "MAPPA panel"},
        ops=[("alter", "case", cid)],
    )
    step(
        "POST",
        f"/api/v1/cases/{cid}/risk/iom",
        status=201,
        json_body={"likelihood": "high", "harm": "high"},
        ops=[("collect", "case", cid)],
    )
    step("GET", f"/api/v1/cases/{cid}/risk", ops=[("consult", "case", cid)])
    step(
        "POST",
        f"/api/v1/cases/{cid}/notes",
        status=201,
        json_body={"kind": "fact", "text": "Seen at home."},
        ops=[("collect", "case", cid)],
    )
    step("GET", f"/api/v1/cases/{cid}/notes", ops=[("consult", "case", cid)])
    iv = step(
        "POST",
        f"/api/v1/cases/{cid}/interventions",
        status=201,
        json_body={"code": "home_address_check", "agency": "police"},
        ops=[("collect", "case", cid)],
    )
    step(
        "PATCH",
        f"/api/v1/interventions/{iv['id']}",
        json_body={"status": "completed"},
        ops=[("alter", "case", cid)],
    )
    step("GET", f"/api/v1/cases/{cid}/interventions", ops=[("consult", "case", cid)])
    m = step(
        "POST",
        "/api/v1/managers",
        role=sup,
        status=201,
        json_body={"staff_id": "om-a", "name": "PC A"},
        ops=[("collect", "manager", "{id}")],
    )
    step(
        "POST",
        f"/api/v1/managers/{m['id']}/training",
        role=sup,
        status=201,
        json_body={"course": "mosovo", "completed_on": "2025-01-01"},
        ops=[("collect", "manager", m["id"])],
    )
    step("GET", f"/api/v1/cases/{cid}/allocation-suggestion", ops=[("consult", "case", cid)])
    step("POST", f"/api/v1/cases/{cid}/allocation", role=sup, json_body={}, ops=[("alter", "case", cid)])
    step("GET", f"/api/v1/managers/{m['id']}/cases", ops=[("consult", "case", cid)])
    # event-driven assessment, then reads and writes on it through the API
    publish(rt, envelope(screened("ref-audit", grade="none")))
    consume(rt)
    page = step("GET", "/api/v1/assessments?status=open", ops=[])
    aid = page["items"][0]["id"]
    rec.expected.append((f"audit test step {rec.n}", "consult", "assessment", aid))
    step("GET", f"/api/v1/assessments/{aid}", ops=[("consult", "assessment", aid)])
    step(
        "PUT",
        f"/api/v1/assessments/{aid}/checklist",
        json_body={"items": {"recent_offending": True}},
        ops=[("alter", "assessment", aid)],
    )
    step(
        "PUT",
        f"/api/v1/assessments/{aid}/recommendation",
        json_body={"recommendation": "adopt"},
        ops=[("alter", "assessment", aid)],
    )
    step(
        "POST",
        f"/api/v1/assessments/{aid}/decision",
        role=sup,
        json_body={"decision": "adopt", "decided_by": "DI Jane Hart"},
        ops=[("alter", "assessment", aid)],
    )
    rep = step("GET", "/api/v1/reports/suitability?since=2000-01-01", ops=[])
    person_ids = {r["person_id"] for g in rep["groups"].values() for r in g["items"]}
    assert person_ids
    for pid2 in person_ids:
        rec.expected.append((f"audit test step {rec.n}", "consult", "person", pid2))
