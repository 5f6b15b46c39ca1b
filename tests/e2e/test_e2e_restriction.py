"""Restriction, distributed (real Kafka, PostgreSQL, processes, the gateway): a data protection
officer's restriction travels as `person.restricted` and every service stops processing the person,
each in its own way (docs/data-protection.md, "Restriction"):

- ranking-service: a restricted person is still ranked but never proposed as a candidate;
- meeting-service: their planned agenda items leave the agenda (kept as removed, with why);
- referral-api: a new referral is never matched against them (a control person still is);
- case-service: changes to their record are refused (409 `restricted`);
- every service audits the restriction, with who decided it.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hhpu.distributed import Cluster
from hhpu.testing import bearer, create_agency, db_scalar, eventually
from hhpu_shared.protection import person_key
from ranking_service.synthetic import generate, write_force
from referral_api.schemas import REFERRAL_EXAMPLE
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
SERVICES = ("referral-api", "ranking-service", "case-service", "meeting-service")
TOP = 25  # wide enough to hold three of this force's people beside other tests' people


def _import(gw: httpx.Client, kind: str, path: Path) -> None:
    r = gw.post(
        f"/api/v1/imports/{kind}",
        params={"filename": path.name},
        content=path.read_bytes(),
        headers={**bearer("analyst"), "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text


def _marked(cluster: Cluster, service: str, ref: str) -> bool:
    sql = "SELECT count(*) FROM protection_mark WHERE person_key = :k AND state = 'restricted'"
    return bool(db_scalar(cluster.database_urls[service], sql, k=person_key(ref)))


def _proposed(cluster: Cluster, run_id: str) -> list[str]:
    eng = create_engine(cluster.database_urls["ranking-service"])
    try:
        with eng.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT payload FROM outbox WHERE type = 'ranking.candidate_identified'"
                    " AND aggregateid = :r"
                ),
                {"r": run_id},
            ).all()
    finally:
        eng.dispose()
    return [json.loads(bytes(r[0]))["data"]["person_ref"] for r in rows]


def test_a_restriction_travels_on_kafka_and_every_service_stops_processing(
    cluster: Cluster, gw: httpx.Client, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date()
    force = generate(
        150,
        1500,
        seed=21,
        start=today - timedelta(days=3 * 365),
        split=today - timedelta(days=30),
        end=today,
        id_prefix="RS-",
    )
    people_file, offences_file = write_force(force, tmp_path)
    _import(gw, "people", people_file)
    _import(gw, "offences", offences_file)
    analyst = bearer("analyst", sub="analyst-kim")
    dry = gw.post("/api/v1/ranking-runs", json={"kind": "dry", "top_n": TOP}, headers=analyst)
    assert dry.status_code == 200, dry.text
    # The cluster is shared by the run's e2e tests: other tests' people (some erased, restricted or
    # managed by then) rank beside this force's, so the three are taken from this force's own.
    mine = [e["person_ref"] for e in dry.json()["top"] if e["person_ref"].startswith("RS-")]
    assert len(mine) >= 3, dry.json()["top"]
    held, proposed_ref, control_ref = mine[:3]
    sup = bearer("unit_supervisor", sub="di-morgan")
    dpo = {**bearer("data_protection_officer", sub="dpo-sam"), "X-Justification": "DPO-2026-031"}
    restrict = {"restricted": True, "reason_code": "accuracy_contested"}

    # 1. Ranking: someone the unit knows (by hand, with their records id) is restricted before the run.
    known = gw.post(
        "/api/v1/people", json={"given_name": "Rae", "family_name": "Held", "records_id": held}, headers=sup
    )
    assert known.status_code == 201, known.text
    r = gw.post(f"/api/v1/people/{known.json()['id']}/restriction", json=restrict, headers=dpo)
    assert r.status_code == 200, r.text
    eventually(lambda: _marked(cluster, "ranking-service", held), what="the ranking-service holds the mark")
    run = gw.post("/api/v1/ranking-runs", json={"kind": "production", "top_n": TOP}, headers=analyst)
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    top = gw.get(f"/api/v1/ranking-runs/{run_id}/entries", params={"top_only": True}, headers=analyst).json()
    assert held in [e["person_ref"] for e in top["items"]]  # still ranked
    sent = _proposed(cluster, run_id)
    assert held not in sent and proposed_ref in sent and control_ref in sent

    # 2. A proposed candidate reaches the case-service, an agenda and the referral-api; then restricted.
    def person_of(ref: str) -> str | None:
        page = gw.get("/api/v1/assessments", params={"status": "open", "limit": 200}, headers=sup).json()
        hit = next((a for a in page["items"] if any(ref in t["ref"] for t in a["triggers"])), None)
        return str(hit["person_id"]) if hit else None

    pid = eventually(lambda: person_of(proposed_ref), what="the candidate's assessment")
    item_sql = "SELECT count(*) FROM mtg_agenda_item WHERE person_id = :p AND status = :s"
    meeting_db = cluster.database_urls["meeting-service"]
    eventually(lambda: db_scalar(meeting_db, item_sql, p=pid, s="planned"), what="the candidate on an agenda")
    known_sql = "SELECT count(*) FROM ref_known_person WHERE person_ref = :r"
    for ref in (proposed_ref, control_ref):
        eventually(
            lambda ref=ref: db_scalar(cluster.database_urls["referral-api"], known_sql, r=ref), what="known"
        )
    person = gw.get(f"/api/v1/people/{pid}", headers=sup).json()
    r = gw.post(f"/api/v1/people/{pid}/restriction", json=restrict, headers=dpo)
    assert r.status_code == 200, r.text

    # Meeting: the planned item leaves the agenda, kept as removed with why.
    eventually(lambda: db_scalar(meeting_db, item_sql, p=pid, s="removed"), what="the item set aside")
    assert db_scalar(meeting_db, item_sql, p=pid, s="planned") == 0
    # Case-service: no change to the record.
    upd = gw.patch(f"/api/v1/people/{pid}", json={"area": "Woking"}, headers=sup)
    assert upd.status_code == 409 and upd.json()["code"] == "restricted"

    # Referral-api: a partner refers the restricted person and the control person by name and date
    # of birth; only the control person is matched against (a combination audited by reference).
    eventually(lambda: _marked(cluster, "referral-api", proposed_ref), what="the referral-api holds the mark")
    eventually(lambda: person_of(control_ref), what="the control person's assessment")
    _agency, key = create_agency(gw, "Restriction test agency", "probation")
    ctrl = gw.get(f"/api/v1/people/{person_of(control_ref)}", headers=sup).json()
    referrals = {}
    for label, subject in (("held", person), ("control", ctrl)):
        body = copy.deepcopy(REFERRAL_EXAMPLE)
        body["partner_reference"] = f"RS-{label}-{run_id[-6:]}"
        body["subject"] = {
            "given_name": subject["given_name"],
            "family_name": subject["family_name"],
            "date_of_birth": subject["date_of_birth"],
        }
        sub = gw.post("/api/v1/referrals", json=body, headers={"X-API-Key": key})
        assert sub.status_code == 201, sub.text
        referrals[label] = sub.json()["id"]

    def combined(ref: str, referral_id: str) -> bool:
        trail = gw.get(
            "/api/v1/audit/referral-api", params={"person": ref, "operation": "combine"}, headers=dpo
        ).json()["items"]
        return any(e["subject_id"] == referral_id for e in trail)

    assert combined(control_ref, referrals["control"])  # matching works for these details
    assert not combined(proposed_ref, referrals["held"])  # but never against the restricted person

    # Every service audited the restriction, with who decided it.
    trail: Any = gw.get(
        "/api/v1/audit", params={"person": pid, "operation": "restrict", "limit": 200}, headers=dpo
    )
    assert trail.status_code == 200, trail.text
    entries = trail.json()["items"]
    assert {e["service"] for e in entries} == set(SERVICES)
    assert all(e["justification"] == "accuracy_contested: restricted" for e in entries)
    assert all((e["detail"] or {}).get("decided_by") == "dpo-sam" for e in entries)
