"""Data protection, distributed (real Kafka, PostgreSQL, processes, the gateway): a ranking
candidate known to all four services is consulted, found in every service's audit, exported by
subject access, then erased on a data protection officer's decision; afterwards no service returns
or stores their name, date of birth or identifiers, and each service's audit keeps who erased them
and why, with its hash chain intact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hhpu.distributed import Cluster
from hhpu.testing import bearer, db_scalar, eventually
from ranking_service.synthetic import generate, write_force

from hhpu import protection as dp

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
SERVICES = ("referral-api", "ranking-service", "case-service", "meeting-service")


def _import(gw: httpx.Client, kind: str, path: Path) -> None:
    r = gw.post(
        f"/api/v1/imports/{kind}",
        params={"filename": path.name},
        content=path.read_bytes(),
        headers={**bearer("analyst"), "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text


def test_audit_subject_access_and_erasure_across_every_service(
    cluster: Cluster, gw: httpx.Client, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date()
    force = generate(
        150,
        1500,
        seed=5,
        start=today - timedelta(days=3 * 365),
        split=today - timedelta(days=30),
        end=today,
        id_prefix="DP-",
    )
    people_file, offences_file = write_force(force, tmp_path)
    _import(gw, "people", people_file)
    _import(gw, "offences", offences_file)
    analyst = {**bearer("analyst", sub="analyst-kim"), "X-Justification": "fortnightly ranking review"}
    run = gw.post("/api/v1/ranking-runs", json={"kind": "production", "top_n": 3}, headers=analyst)
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]
    entries = gw.get(f"/api/v1/ranking-runs/{run_id}/entries", params={"top_only": True}, headers=analyst)
    ref = entries.json()["items"][0]["person_ref"]  # a records id
    supervisor = bearer("unit_supervisor", sub="di-morgan")

    def assessment() -> dict | None:
        page = gw.get(
            "/api/v1/assessments", params={"status": "open", "limit": 50}, headers=supervisor
        ).json()
        return next((a for a in page["items"] if any(ref in t["ref"] for t in a["triggers"])), None)

    person_id = eventually(assessment, what="the candidate's assessment")["person_id"]
    person = gw.get(f"/api/v1/people/{person_id}", headers=supervisor).json()
    name = person["family_name"]
    dbs = cluster.database_urls
    eventually(
        lambda: db_scalar(
            dbs["meeting-service"], "SELECT count(*) FROM mtg_agenda_item WHERE person_id = :p", p=person_id
        ),
        what="the candidate on an agenda",
    )
    eventually(
        lambda: db_scalar(
            dbs["referral-api"], "SELECT count(*) FROM ref_known_person WHERE person_ref = :r", r=ref
        ),
        what="the referral-api knows the candidate",
    )
    chair = {**bearer("meeting_chair", sub="chair-lou"), "X-Justification": "preparing the monthly meeting"}
    item_sql = "SELECT {} FROM mtg_agenda_item WHERE person_id = :p"
    meeting_id = db_scalar(dbs["meeting-service"], item_sql.format("meeting_id"), p=person_id)
    item_id = db_scalar(dbs["meeting-service"], item_sql.format("id"), p=person_id)
    agenda = gw.get(f"/api/v1/meetings/{meeting_id}/agenda", headers=chair)
    assert agenda.status_code == 200 and name in agenda.text
    analyst_agenda = gw.get(f"/api/v1/meetings/{meeting_id}/agenda", headers=analyst)
    assert analyst_agenda.status_code == 200 and name not in analyst_agenda.text  # least privilege

    dpo = {**bearer("data_protection_officer", sub="dpo-sam"), "X-Justification": "SAR-2026-001"}
    with httpx.Client(
        base_url=cluster.gateway_url, headers={"Authorization": dpo["Authorization"]}, timeout=60
    ) as c:
        # The audit across services: who saw this person, when and why.
        refs = dp.references(c, person_id, "SAR-2026-001")
        assert set(refs) >= {person_id, ref}
        timeline = dp.audit_timeline(c, refs, "SAR-2026-001")
        seen = {(e["service"], e["actor"], e["operation"], e["justification"]) for e in timeline}
        assert ("ranking-service", "analyst-kim", "consult", "fortnightly ranking review") in seen
        assert ("meeting-service", "chair-lou", "consult", "preparing the monthly meeting") in seen
        assert all(e["at"] and e["correlation_id"] for e in timeline)
        assert "analyst-kim" in dp.timeline_text(timeline) and "justification" in dp.timeline_csv(timeline)
        # Subject access: every service contributes.
        sar = dp.subject_access(c, person_id, "SAR-2026-001")
        held = sar["services"]
        assert held["case-service"]["data"]["people"][0]["family_name"] == name
        assert held["ranking-service"]["data"]["people"][0]["records_id"] == ref
        assert held["meeting-service"]["data"]["agenda_items"]
        assert held["referral-api"]["data"]["known_person_records"]
        assert name in dp.sar_html(sar)

    # Bad input changes nothing: no justification, an unknown person, a role that may not decide.
    erase_body = {"reason_code": "erasure_request", "reason": "s.47 request upheld (DPO ref SAR-2026-001)"}
    no_why = {"Authorization": dpo["Authorization"]}
    r = gw.post(f"/api/v1/people/{person_id}/erasure", json=erase_body, headers=no_why)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    r = gw.post("/api/v1/people/nobody-known/erasure", json=erase_body, headers=dpo)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = gw.post(f"/api/v1/people/{person_id}/erasure", json=erase_body, headers=analyst)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert gw.get(f"/api/v1/people/{person_id}", headers=supervisor).json()["family_name"] == name

    r = gw.post(f"/api/v1/people/{person_id}/erasure", json=erase_body, headers=dpo)
    assert r.status_code == 200, r.text

    def erased_everywhere() -> bool:
        checks = [
            ("ranking-service", "SELECT count(*) FROM rank_person WHERE records_id = :r"),
            ("ranking-service", "SELECT count(*) FROM rank_offence WHERE person_id = :r"),
            ("ranking-service", "SELECT count(*) FROM rank_run_entry WHERE person_ref = :r"),
            (
                "referral-api",
                "SELECT count(*) FROM ref_known_person WHERE person_ref = :r OR records_id = :r",
            ),
            ("case-service", "SELECT count(*) FROM case_person WHERE records_id = :r"),
            ("case-service", "SELECT count(*) FROM case_person_identifier WHERE value = :r"),
        ]
        return all(db_scalar(dbs[svc], sql, r=ref) == 0 for svc, sql in checks)

    eventually(erased_everywhere, what="every service erased the person")
    eventually(
        lambda: (
            db_scalar(
                dbs["meeting-service"],
                "SELECT count(*) FROM mtg_agenda_item WHERE person_id = :p",
                p=person_id,
            )
            == 0
        ),
        what="the meeting-service erased the person",
    )
    person_row = (
        "SELECT count(*) FROM case_person WHERE id = :p AND (family_name = :n OR date_of_birth IS NOT NULL)"
    )
    assert db_scalar(dbs["case-service"], person_row, p=person_id, n=name) == 0
    item_row = (
        "SELECT count(*) FROM mtg_agenda_item WHERE id = :i AND person_label IS NULL AND title = '[erased]'"
    )
    assert db_scalar(dbs["meeting-service"], item_row, i=item_id) == 1
    assert gw.get(f"/api/v1/people/{person_id}", headers=supervisor).json()["family_name"] == "[erased]"
    r = gw.get(f"/api/v1/ranking-runs/{run_id}/entries/{ref}", headers=analyst)
    assert r.status_code == 404

    # Each service's audit keeps who erased and why, and its chain is intact.
    for svc in SERVICES:
        page = gw.get(f"/api/v1/audit/{svc}", params={"operation": "erase"}, headers=dpo).json()
        assert page["items"], svc
        e = page["items"][0]
        assert e["justification"].startswith("erasure_request: s.47 request upheld"), svc
        assert e["detail"]["decided_by"] == "dpo-sam", svc
        v = gw.get(f"/api/v1/audit/{svc}/verify", headers=dpo).json()
        assert v["ok"] and v["checked"] > 0, (svc, v)
    csv_text = gw.get(
        "/api/v1/audit/case-service", params={"format": "csv", "operation": "erase"}, headers=dpo
    )
    assert csv_text.headers["content-type"].startswith("text/csv") and "dpo-sam" in csv_text.text
