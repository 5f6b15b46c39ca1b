"""Main flows on real PostgreSQL: events, decision, allocation, risk, notes, interventions, merge, reports."""

from __future__ import annotations

import pytest
from case_service.models import Assessment, Case
from case_testing import DEAN, candidate, client_for, consume, envelope, headers, publish, screened
from hhpu_shared.audit import AuditEntry
from hhpu_shared.events.contracts.common import PersonDetails
from sqlmodel import Session, select

pytestmark = pytest.mark.postgres

OM = headers("offender_manager")
SUP = headers("unit_supervisor", subject="user:sup")


def test_case_full_flow_on_postgres(pg_url: str) -> None:
    with client_for(pg_url) as (client, rt):
        m = client.post("/api/v1/managers", json={"staff_id": "om-a", "name": "PC A"}, headers=SUP).json()
        client.post(
            f"/api/v1/managers/{m['id']}/training",
            json={"course": "mosovo", "completed_on": "2025-01-01"},
            headers=SUP,
        )
        client.post("/api/v1/managers", json={"staff_id": "om-b", "name": "PC B"}, headers=SUP)
        other = PersonDetails(given_name="Dee", family_name="Marsh", pnc_number="91/2B")
        publish(
            rt,
            envelope(screened("ref-1", grade="certain", person_ref="R-1")),
            envelope(candidate("R-1", subject=DEAN)),
            envelope(screened("ref-2", grade="none", subject=other)),
        )
        consume(rt)
        with Session(rt.engine) as s:
            rows = s.exec(select(Assessment)).all()
        assert len(rows) == 2
        assert all(x.status == "open" and x.open_key == x.person_id for x in rows)
        people = client.get("/api/v1/people", headers=OM).json()["items"]
        dean = next(p for p in people if p["records_id"] == "R-1")
        dee = next(p for p in people if p["records_id"] is None)
        r = client.post(
            f"/api/v1/people/{dean['id']}/merge", json={"merged_person_id": dee["id"]}, headers=SUP
        )
        assert r.status_code == 200, r.text
        with Session(rt.engine) as s:
            open_ = [x for x in s.exec(select(Assessment)).all() if x.status == "open"]
        assert len(open_) == 1
        aid = open_[0].id
        got = client.get(f"/api/v1/assessments/{aid}", headers=OM).json()
        assert {t["source"] for t in got["triggers"]} == {"referral", "ranking"} and len(got["triggers"]) == 3
        client.put(
            f"/api/v1/assessments/{aid}/checklist", json={"items": {"recent_offending": True}}, headers=OM
        )
        r = client.post(
            f"/api/v1/assessments/{aid}/decision",
            json={"decision": "adopt", "decided_by": "DI Hart", "cohort": "visor"},
            headers=SUP,
        )
        assert r.status_code == 200, r.text
        with Session(rt.engine) as s:
            case = next(c for c in s.exec(select(Case)).all() if c.status == "managed")
        assert case.manager_id == m["id"]  # the only MOSOVO-trained manager
        cid = case.id
        r = client.patch(f"/api/v1/cases/{cid}", json={"mappa_category": 1, "mappa_level": 2}, headers=OM)
        assert r.status_code == 200, r.text
        rm = {
            "age": 30,
            "sexual_appearances": 3,
            "criminal_appearances": 3,
            "violent_appearances": 2,
            "burglary": True,
        }
        r = client.post(f"/api/v1/cases/{cid}/risk/rm2000", json=rm, headers=OM)
        assert r.json()["result"]["c_category"] == "very_high"
        n = client.post(
            f"/api/v1/cases/{cid}/notes", json={"kind": "assessment", "text": "x"}, headers=OM
        ).json()
        client.post(
            f"/api/v1/cases/{cid}/notes",
            json={"kind": "fact", "text": "y", "corrects_note_id": n["id"]},
            headers=OM,
        )
        assert client.get(f"/api/v1/cases/{cid}/notes", headers=OM).json()["total"] == 2
        iv = {"code": "notification_compliance_visit", "agency": "police", "started_on": "2026-11-01"}
        assert client.post(f"/api/v1/cases/{cid}/interventions", json=iv, headers=OM).status_code == 201
        ev = client.get("/api/v1/reports/evaluation", headers=headers("analyst", why=None)).json()
        assert ev["interventions"]["counts"][1] == [1, 0, 0]
        rep = client.get("/api/v1/reports/suitability", headers=OM).json()
        assert rep["counts"]["both"] == 1
        load = client.get("/api/v1/managers/caseload", headers=OM).json()
        assert {r["manager_id"]: r["cases"] for r in load["per_manager"]["items"]}[m["id"]] == 1
        r = client.post(f"/api/v1/cases/{cid}/transitions", json={"to": "candidate"}, headers=OM)
        assert r.status_code == 409
        with Session(rt.engine) as s:
            ops = {e.operation for e in s.exec(select(AuditEntry)).all()}
        assert ops >= {"collect", "consult", "alter", "combine"}
