"""Flow 2, distributed: the fortnightly ranking run names candidates not already managed; each
opens one assessment carrying its score breakdown and reaches the next monthly meeting's agenda.
Real Kafka, PostgreSQL and processes; the offence records are imported through the gateway."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from hhpu.distributed import Cluster
from hhpu.testing import bearer, db_scalar, eventually
from ranking_service.synthetic import generate, write_force
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.e2e, pytest.mark.kafka, pytest.mark.postgres]
TOP_N = 8
PREFIX = "FR-"  # this test's records ids: other tests share the cluster, and their people are ranked too


def _candidate_refs(db_url: str, run_id: str) -> list[str]:
    """The person refs of the candidate events a run put in the ranking-service's outbox."""
    eng = create_engine(db_url)
    try:
        with eng.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT payload FROM outbox"
                    " WHERE type = 'ranking.candidate_identified' AND aggregateid = :r"
                ),
                {"r": run_id},
            ).all()
    finally:
        eng.dispose()
    return [json.loads(bytes(r[0]))["data"]["person_ref"] for r in rows]


def _import(gw: httpx.Client, kind: str, path: Path) -> dict:
    r = gw.post(
        f"/api/v1/imports/{kind}",
        params={"filename": path.name},
        content=path.read_bytes(),
        headers={**bearer("analyst"), "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_ranking_run_names_unmanaged_candidates_who_reach_the_agenda(
    cluster: Cluster, gw: httpx.Client, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date()
    force = generate(
        400,
        4000,
        seed=11,
        start=today - timedelta(days=3 * 365),
        split=today - timedelta(days=30),
        end=today,
        id_prefix=PREFIX,
    )
    people_file, offences_file = write_force(force, tmp_path)
    assert _import(gw, "people", people_file)["rows_accepted"] == 400
    report = _import(gw, "offences", offences_file)
    assert report["rows_accepted"] > 0
    # Re-importing the same file changes nothing.
    assert _import(gw, "offences", offences_file)["duplicate"] is True

    analyst = bearer("analyst")
    dry = gw.post("/api/v1/ranking-runs", json={"kind": "dry", "top_n": TOP_N}, headers=analyst)
    assert dry.status_code == 200, dry.text  # a dry run is computed and returned, not stored
    top = [e["person_ref"] for e in dry.json()["top"]][:TOP_N]
    assert len(top) == TOP_N
    # Another test's people may share the top bracket (and be under assessment already): this test
    # follows its own.
    mine = [r for r in top if r.startswith(PREFIX)]
    assert len(mine) >= 3, top

    # The first of them is already managed (an IOM case adopted in the case-service).
    supervisor = bearer("unit_supervisor", sub="di-morgan", name="DI Morgan Hale")
    managed_ref = mine[0]
    p = gw.post(
        "/api/v1/people",
        json={"given_name": "Already", "family_name": "Managed", "records_id": managed_ref},
        headers=supervisor,
    )
    assert p.status_code == 201, p.text
    c = gw.post(
        "/api/v1/cases",
        json={"person_id": p.json()["id"], "cohort": "iom_fixed", "identified_by": "iom_meeting"},
        headers=supervisor,
    )
    assert c.status_code == 201, c.text
    for body in ({"to": "under_assessment"}, {"to": "managed", "decided_by": "IOM panel"}):
        t = gw.post(f"/api/v1/cases/{c.json()['id']}/transitions", json=body, headers=supervisor)
        assert t.status_code == 200, t.text
    ranking_db = cluster.database_urls["ranking-service"]
    eventually(
        lambda: db_scalar(
            ranking_db,
            "SELECT count(*) FROM rank_person_status WHERE records_id = :r AND managed",
            r=managed_ref,
        ),
        what="the ranking learns who is managed",
    )

    run = gw.post("/api/v1/ranking-runs", json={"kind": "production", "top_n": TOP_N}, headers=analyst)
    assert run.status_code == 201, run.text
    run_id = run.json()["id"]

    # One candidate event for each top-bracket person not managed, exactly once.
    refs = _candidate_refs(ranking_db, run_id)
    assert len(refs) == len(set(refs)), "a candidate named twice"
    assert managed_ref not in refs
    assert sorted(r for r in refs if r.startswith(PREFIX)) == sorted(mine[1:])
    assert set(refs) <= set(top)

    # Each opens one assessment that carries the score breakdown.
    def opened() -> list[dict] | None:
        page = gw.get(
            "/api/v1/assessments", params={"status": "open", "limit": 200}, headers=supervisor
        ).json()
        hits = [
            a
            for a in page["items"]
            if any(t["source"] == "ranking" and run_id in t["ref"] for t in a["triggers"])
        ]
        return hits if len(hits) >= len(refs) else None

    assessments = eventually(opened, what="an assessment per candidate")
    assert len(assessments) == len(refs)
    assessed = {
        t["ref"].split(":", 1)[1]
        for a in assessments
        for t in a["triggers"]
        if t["source"] == "ranking" and run_id in t["ref"]
    }
    assert assessed == set(refs)
    for a in assessments:
        trig = next(t for t in a["triggers"] if t["source"] == "ranking" and run_id in t["ref"])
        assert "top contributions" in (trig["detail"] or "")

    # Each reaches the next monthly meeting's agenda, once.
    chair = bearer("meeting_chair", sub="chair-lou", name="DCI Lou Barnes")
    wanted = {a["id"] for a in assessments}

    def on_agenda() -> set[str] | None:
        seen: list[str] = []
        for m in gw.get("/api/v1/meetings", headers=chair).json()["items"]:
            agenda = gw.get(f"/api/v1/meetings/{m['id']}/agenda", headers=chair).json()
            items = agenda["kept"] + [d["item"] for d in agenda["to_defer"]]
            seen += [i["assessment_id"] for i in items if i.get("assessment_id") in wanted]
        assert len(seen) == len(set(seen)), "an assessment is on an agenda twice"
        return set(seen) if set(seen) == wanted else None

    eventually(on_agenda, what="every candidate on the agenda")

    # Re-running the stored run reproduces it exactly.
    rep = gw.post(f"/api/v1/ranking-runs/{run_id}/reproduce", headers=analyst)
    assert rep.status_code == 200, rep.text
    assert rep.json()["identical"] is True
