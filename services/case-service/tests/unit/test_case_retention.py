"""MoPI review and retention through the API, on SQLite and PostgreSQL: every person's group and
review date follow what is known (and only go up); the review queue for the data protection officer
and supervisors (paged, filtered, one audit entry per person shown); retain and dispose decisions
(a disposal is the erasure path), the review history, bad input and refused roles."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from case_service.domain import mopi
from case_service.models import Person
from case_service.workers import count_overdue_reviews
from case_testing import (
    candidate,
    client_for,
    consume,
    envelope,
    headers,
    outbox_types,
    publish,
    screened,
)
from fastapi.testclient import TestClient
from hhpu_shared.audit import AuditEntry
from hhpu_shared.events.contracts.common import PersonDetails
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.runtime import ServiceRuntime
from prometheus_client import REGISTRY
from sqlmodel import Session, col, select

API = "/api/v1"
OM = headers("offender_manager")
SUP = headers("unit_supervisor", subject="user:sup")
DPO = headers("data_protection_officer", subject="user:dpo", why="MoPI review 2026/11")
RETAIN = {"decision": "retain", "reason_code": "serious_harm_capacity", "reason": "Breached a DVPN in 2025"}
DISPOSE = {
    "decision": "dispose",
    "reason_code": "no_policing_purpose",
    "reason": "Six clear years, no concern",
}


def today() -> date:
    return datetime.now(UTC).date()


def _person(client: TestClient, given: str, family: str, **extra: Any) -> dict[str, Any]:
    r = client.post(f"{API}/people", json={"given_name": given, "family_name": family, **extra}, headers=OM)
    assert r.status_code == 201, r.text
    return r.json()


def _case(client: TestClient, pid: str, **body: Any) -> dict[str, Any]:
    r = client.post(f"{API}/cases", json={"person_id": pid, "identified_by": "mappa", **body}, headers=OM)
    assert r.status_code == 201, r.text
    return r.json()


def _status(client: TestClient, pid: str) -> dict[str, Any]:
    r = client.get(f"{API}/people/{pid}/retention", headers=DPO)
    assert r.status_code == 200, r.text
    return r.json()


def _set_due(rt: ServiceRuntime, pid: str, due: date) -> None:
    with Session(rt.engine) as s:
        p = s.get(Person, pid)
        assert p is not None
        p.mopi_review_on = due
        s.add(p)
        s.commit()


def _audit_after(rt: ServiceRuntime, first: int) -> list[AuditEntry]:
    with Session(rt.engine) as s:
        return list(s.exec(select(AuditEntry).where(col(AuditEntry.id) > first)).all())


def _last_audit_id(rt: ServiceRuntime) -> int:
    with Session(rt.engine) as s:
        return s.exec(select(AuditEntry.id).order_by(col(AuditEntry.id).desc()).limit(1)).first() or 0


def test_group_and_review_date_follow_what_is_known(db_url: str) -> None:
    with client_for(db_url) as (client, rt):
        kim = _person(client, "Kim", "Ray", date_of_birth="1980-02-03")
        assert kim["mopi_group"] == 4
        assert kim["mopi_review_on"] == mopi.add_years(today(), 6).isoformat()
        assert _status(client, kim["id"])["basis"] == ["nothing proven"]

        # a referral for domestic abuse and stalking (unconvicted): group 2, reviewed in 10 years
        publish(
            rt, envelope(screened("ref-1", subject=PersonDetails(given_name="Dean", family_name="Marsh")))
        )
        consume(rt)
        dean = client.get(f"{API}/people", params={"q": "Dean Marsh"}, headers=OM).json()["items"][0]
        st = _status(client, dean["id"])
        assert (st["mopi_group"], st["review_due_on"]) == (2, mopi.add_years(today(), 10).isoformat())
        assert {"concern: domestic abuse", "concern: stalking"} <= set(st["basis"])

        # a ranking candidate known only by a records id: offences in police records, group 3
        publish(rt, envelope(candidate("R-900")))
        consume(rt)
        rec = client.get(f"{API}/people", params={"identifier": "R-900"}, headers=OM).json()["items"][0]
        assert _status(client, rec["id"])["mopi_group"] == 3

        # a ViSOR case makes Kim group 1 (reviewed in 10 years, or at 100 if sooner)
        case = _case(client, kim["id"], cohort="visor", mappa_category=1, mappa_level=1)
        st = _status(client, kim["id"])
        assert st["mopi_group"] == 1 and st["basis"] == ["ViSOR cohort", "MAPPA category 1"]
        assert st["review_due_on"] == mopi.add_years(today(), 10).isoformat()
        # ... and leaving ViSOR does not lower it: the group only goes up
        r = client.patch(f"{API}/cases/{case['id']}", json={"cohort": "hhpu"}, headers=OM)
        assert r.status_code == 200, r.text
        assert _status(client, kim["id"])["mopi_group"] == 1
        # merged into another record, Kim's group goes with her (the surviving record takes the higher)
        kym = _person(client, "Kym", "Ray")
        r = client.post(f"{API}/people/{kym['id']}/merge", json={"merged_person_id": kim["id"]}, headers=SUP)
        assert r.status_code == 200, r.text
        st = _status(client, kym["id"])
        assert st["mopi_group"] == 1 and "ViSOR cohort" in st["basis"]
        merged = client.post(f"{API}/people/{kim['id']}/retention-review", json=RETAIN, headers=DPO)
        assert merged.status_code == 409 and merged.json()["code"] == "person_merged"

        # a convicted person is group 3; a Risk Matrix 2000 assessment lifts them to group 2
        lee = _person(client, "Lee", "Ford")
        c = _case(client, lee["id"], cohort="hhpu", subject_category="convicted")
        assert _status(client, lee["id"])["mopi_group"] == 3
        rm = {"age": 30, "sexual_appearances": 1, "criminal_appearances": 2, "violent_appearances": 0}
        r = client.post(f"{API}/cases/{c['id']}/risk/rm2000", json=rm, headers=OM)
        assert r.status_code in (200, 201), r.text
        st = _status(client, lee["id"])
        assert st["mopi_group"] == 2 and "Risk Matrix 2000 assessment" in st["basis"]
        # the person record itself carries both
        got = client.get(f"{API}/people/{lee['id']}", headers=OM).json()
        assert (got["mopi_group"], got["mopi_review_on"]) == (2, st["review_due_on"])


def test_queue_retain_dispose_and_history(db_url: str) -> None:
    with client_for(db_url) as (client, rt):
        a = _person(client, "Ann", "Cole", date_of_birth="1970-01-01")  # group 4
        b = _person(client, "Bea", "Dunn", date_of_birth="1975-05-05", records_id="R-2")  # group 4
        v = _person(client, "Viv", "Egan", date_of_birth="1960-01-01")
        _case(client, v["id"], cohort="visor", mappa_category=1, mappa_level=1)  # group 1
        _person(client, "Not", "Due")  # reviewed in six years: not in today's queue
        _set_due(rt, a["id"], today() - timedelta(days=30))
        _set_due(rt, b["id"], today() - timedelta(days=400))
        _set_due(rt, v["id"], today() - timedelta(days=1))

        first = _last_audit_id(rt)
        r = client.get(f"{API}/retention-reviews", headers=DPO)
        assert r.status_code == 200, r.text
        q = r.json()
        assert [x["person_id"] for x in q["items"]] == [b["id"], a["id"], v["id"]] and q["total"] == 3
        assert q["items"][0]["overdue_days"] == 400 and q["items"][0]["name"] == "Bea Dunn"
        shown = _audit_after(rt, first)
        assert sorted(e.person_ref or "" for e in shown) == sorted([a["id"], b["id"], v["id"]])
        assert all(
            (e.operation, e.actor, e.justification, e.subject_type)
            == ("consult", "user:dpo", "MoPI review 2026/11", "retention_review_queue")
            for e in shown
        )
        page = client.get(f"{API}/retention-reviews", params={"group": 1, "limit": 1}, headers=SUP).json()
        assert [x["person_id"] for x in page["items"]] == [v["id"]] and page["total"] == 1
        later = client.get(
            f"{API}/retention-reviews",
            params={"due_before": mopi.add_years(today(), 7).isoformat(), "group": [3, 4]},
            headers=DPO,
        ).json()
        assert later["total"] == 3  # Ann, Bea and the one not due yet

        # retain: the review moves on by the group's interval, recorded and audited
        first = _last_audit_id(rt)
        r = client.post(f"{API}/people/{a['id']}/retention-review", json=RETAIN, headers=DPO)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["review"]["next_review_on"] == mopi.add_years(today(), 6).isoformat()
        assert out["status"]["review_due_on"] == out["review"]["next_review_on"]
        assert out["status"]["last_reviewed_on"] == today().isoformat()
        alter = [e for e in _audit_after(rt, first) if e.operation == "alter"]
        assert len(alter) == 1 and alter[0].person_ref == a["id"] and alter[0].actor == "user:dpo"
        assert json.loads(alter[0].detail or "{}")["mopi_review"] == "retain"
        sar = client.get(f"{API}/subject-access/case-service", params={"person": a["id"]}, headers=DPO)
        assert [x["decision"] for x in sar.json()["data"]["retention_reviews"]] == ["retain"]
        assert a["id"] not in [
            x["person_id"] for x in client.get(f"{API}/retention-reviews", headers=DPO).json()["items"]
        ]

        # dispose: the erasure path (mopi_disposal), everywhere by person.erased; the history stays
        first = _last_audit_id(rt)
        r = client.post(f"{API}/people/{b['id']}/retention-review", json=DISPOSE, headers=DPO)
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["review"]["next_review_on"] is None and out["status"]["review_due_on"] is None
        assert out["review"]["decision_id"] == out["erasure"]["decision_id"]
        got = client.get(f"{API}/people/{b['id']}", headers=SUP).json()
        assert got["family_name"] == "[erased]" and got["date_of_birth"] is None and got["records_id"] is None
        with Session(rt.engine) as s:
            sent = s.exec(select(OutboxRecord).where(OutboxRecord.type == "person.erased")).all()
        data = json.loads(sent[0].payload)["data"]
        assert len(sent) == 1 and data["reason_code"] == "mopi_disposal"
        assert data["reason"].startswith("no_policing_purpose: ") and set(data["references"]) == {
            b["id"],
            "R-2",
        }
        # the birth date itself: a bare "1975" can turn up in the event id or the time's microseconds
        assert b"Dunn" not in sent[0].payload and b"1975-05-05" not in sent[0].payload
        erased = [e for e in _audit_after(rt, first) if e.operation == "erase"]
        assert {e.person_ref for e in erased} == {b["id"], "R-2"}
        assert all(
            e.actor == "user:dpo" and e.justification.startswith("mopi_disposal: no_policing") for e in erased
        )

        hist = client.get(f"{API}/people/{b['id']}/retention-reviews", headers=DPO)
        assert hist.status_code == 200, hist.text
        (row,) = hist.json()["items"]
        assert (row["decision"], row["reason_code"], row["decided_by"], row["mopi_group"]) == (
            "dispose",
            "no_policing_purpose",
            "user:dpo",
            4,
        )
        assert row["previous_review_on"] == (today() - timedelta(days=400)).isoformat()
        assert client.get(f"{API}/audit/case-service/verify", headers=DPO).json()["ok"] is True

        # the dashboards' count: Viv is still overdue (group 1)
        counts = count_overdue_reviews(rt)
        assert counts == {"1": 1, "2": 0, "3": 0, "4": 0}
        assert REGISTRY.get_sample_value("hhpu_case_reviews_overdue", {"mopi_group": "1"}) == 1.0
        assert 'hhpu_case_reviews_overdue{mopi_group="1"} 1.0' in client.get("/metrics").text


def test_bad_decisions_change_nothing(db_url: str) -> None:
    with client_for(db_url) as (client, rt):
        a = _person(client, "Ann", "Cole", date_of_birth="1970-01-01")
        v = _person(client, "Viv", "Egan", date_of_birth="1960-01-01")
        _case(client, v["id"], cohort="visor", mappa_category=1, mappa_level=1)
        _set_due(rt, v["id"], today() - timedelta(days=1))
        gone = _person(client, "Gus", "Hale")
        _set_due(rt, gone["id"], today() - timedelta(days=1))
        assert (
            client.post(f"{API}/people/{gone['id']}/retention-review", json=DISPOSE, headers=DPO).status_code
            == 200
        )
        before = (outbox_types(rt), _last_audit_id(rt))

        def problem(r: Any, status: int) -> dict[str, Any]:
            assert r.status_code == status, r.text
            assert r.headers["content-type"] == "application/problem+json"
            body: dict[str, Any] = r.json()
            return body

        url = f"{API}/people/{a['id']}/retention-review"
        bad: list[tuple[dict[str, Any], str, str]] = [
            ({**DISPOSE, "reason_code": "serious_harm_capacity"}, "reason_code", "invalid_choice"),
            ({**RETAIN, "reason_code": "no_policing_purpose"}, "reason_code", "invalid_choice"),
            ({**RETAIN, "decision": "archive"}, "decision", "invalid_choice"),
            ({"decision": "retain", "reason_code": "breach_of_trust"}, "reason", "required"),
            ({**RETAIN, "reason": "   "}, "reason", "too_short"),
            ({**RETAIN, "reason": "x" * 401}, "reason", "too_long"),
            ({**RETAIN, "by": "x"}, "by", "unknown_field"),
        ]
        for body, field, code in bad:
            errs = problem(client.post(url, json=body, headers=DPO), 422)["errors"]
            assert {"field": field, "code": code} in [
                {"field": e["field"], "code": e["code"]} for e in errs
            ], errs
        problem(client.post(url, json=RETAIN, headers=headers("data_protection_officer", why=None)), 422)
        assert (
            problem(client.post(f"{API}/people/nobody/retention-review", json=RETAIN, headers=DPO), 404)[
                "code"
            ]
            == "not_found"
        )
        assert (
            problem(
                client.post(f"{API}/people/{gone['id']}/retention-review", json=RETAIN, headers=DPO), 409
            )["code"]
            == "already_erased"
        )
        assert (
            problem(client.get(f"{API}/people/{gone['id']}/retention", headers=DPO), 409)["code"]
            == "already_erased"
        )
        assert problem(client.post(url, json=DISPOSE, headers=DPO), 409)["code"] == "review_not_due"
        young = problem(
            client.post(f"{API}/people/{v['id']}/retention-review", json=DISPOSE, headers=DPO), 409
        )
        assert young["code"] == "retained_until_100" and young["mopi_group"] == 1
        errs = problem(client.get(f"{API}/retention-reviews", params={"group": 7}, headers=DPO), 422)[
            "errors"
        ]
        assert errs[0]["field"].startswith("query.group") and errs[0]["code"] == "too_large"
        problem(client.get(f"{API}/retention-reviews", params={"due_before": "soon"}, headers=DPO), 422)
        for role in ("offender_manager", "analyst", "meeting_chair", "administrator", "partner_agency"):
            h = headers(role)
            assert problem(client.get(f"{API}/retention-reviews", headers=h), 403)["code"] == "forbidden"
            problem(client.post(url, json=RETAIN, headers=h), 403)
            problem(client.get(f"{API}/people/{a['id']}/retention-reviews", headers=h), 403)
        assert (outbox_types(rt), _last_audit_id(rt)) == before
        assert client.get(f"{API}/people/{a['id']}/retention-reviews", headers=DPO).json()["total"] == 0
        assert _status(client, v["id"])["review_due_on"] == (today() - timedelta(days=1)).isoformat()
