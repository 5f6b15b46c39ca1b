"""Runs through the API: candidate events, reproduction, comparison, trajectory, breakdown, audit."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hhpu_shared.audit import AuditEntry
from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened, CaseAdopted, CaseExited
from ranking_api_testing import ANALYST, RUNS, TODAY, run
from ranking_service.synthetic import SyntheticForce
from sqlmodel import select


def test_candidates_only_for_people_not_managed_and_not_under_assessment(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    dry = run(rank_client, kind="dry", top_n=20)
    top = [e["person_ref"] for e in dry["top"]]
    assert "P-DEAN-MARSH" in top and len(top) == 20
    managed, assessed, declined, exited = [p for p in top if p != "P-DEAN-MARSH"][:4]
    rank_tools.publish_case_event(
        rank_client,
        CaseAdopted(case_id="c1", person_id="x1", records_id=managed, cohort="hhpu", identified_by="mappa"),
        "c1",
    )
    rank_tools.publish_case_event(
        rank_client,
        AssessmentOpened(
            assessment_id="a1", person_id="x2", records_id=assessed, person_label="x", triggers=()
        ),
        "a1",
    )
    rank_tools.publish_case_event(
        rank_client,
        AssessmentOpened(
            assessment_id="a2", person_id="x3", records_id=declined, person_label="x", triggers=()
        ),
        "a2",
    )
    rank_tools.publish_case_event(
        rank_client,
        AssessmentDecided(
            assessment_id="a2",
            person_id="x3",
            records_id=declined,
            decision="decline",
            decided_by="di",
            cohort=None,
            referral_ids=(),
        ),
        "a2",
    )
    rank_tools.publish_case_event(
        rank_client,
        CaseAdopted(case_id="c2", person_id="x4", records_id=exited, cohort="hhpu", identified_by="mappa"),
        "c2",
    )
    rank_tools.publish_case_event(
        rank_client,
        CaseExited(case_id="c2", person_id="x4", records_id=exited, reason_code="completed"),
        "c2",
    )
    assert run(rank_client, kind="dry", top_n=20)["top"] == dry["top"]  # dry runs emit and store nothing
    out = run(rank_client, top_n=20)
    assert out["candidates_emitted"] == 17 and out["top_bracket_size"] == 20
    events = rank_tools.ranking_events(rank_client, "ranking.candidate_identified")
    refs = [e["data"]["person_ref"] for e in events]
    assert sorted(refs) == sorted(set(top) - {managed, assessed, declined})
    assert len({e["event_id"] for e in events}) == len(events) == 17
    dean = next(e for e in events if e["data"]["person_ref"] == "P-DEAN-MARSH")
    assert (
        dean["data"]["subject"]["middle_names"] == "John"
        and dean["data"]["subject"]["date_of_birth"] == "1991-03-14"
    )
    assert dean["data"]["top_contributions"][0]["offence_code"] == "005/01"
    assert "wound" in dean["data"]["top_contributions"][0]["offence_name"].lower()  # the code with its name
    assert dean["subject"] == {"type": "person", "id": "P-DEAN-MARSH"}
    completed = rank_tools.ranking_events(rank_client, "ranking.run_completed")
    assert [c["data"]["run_id"] for c in completed] == [out["id"]]
    shadow = run(rank_client, kind="shadow", model="rfgv@1", top_n=20)
    assert shadow["candidates_emitted"] == 0
    assert len(rank_tools.ranking_events(rank_client, "ranking.candidate_identified")) == 17
    assert [c["data"]["kind"] for c in rank_tools.ranking_events(rank_client, "ranking.run_completed")] == [
        "production",
        "shadow",
    ]
    with rank_client.app.state.runtime.unit_of_work() as uow:  # type: ignore[attr-defined]
        disclosed = uow.session.exec(select(AuditEntry).where(AuditEntry.operation == "disclose")).all()
    assert len(disclosed) == 17 and disclosed[0].recipient is not None


def test_rerun_reproduces_exactly_and_detects_changed_inputs(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    first = run(rank_client, top_share=0.05)
    extra = tmp_path / "more.csv"
    extra.write_text(
        "person_id,offence_code,offence_date,recorded_date,outcome\n"
        f"P-NEW,001/01,{TODAY - timedelta(days=3)},{TODAY - timedelta(days=2)},charged\n"
    )
    r = rank_client.post(
        "/api/v1/imports/offences?filename=more.csv", content=extra.read_bytes(), headers=ANALYST
    )
    assert r.status_code == 201 and r.json()["rows_accepted"] == 1
    rep = rank_client.post(f"{RUNS}/{first['id']}/reproduce", headers=ANALYST).json()
    assert rep["identical"] and rep["fingerprint_match"] and rep["differences"] == 0
    assert rep["entries_compared"] == first["people_scored"]
    second = run(rank_client, top_share=0.05)
    assert (
        second["fingerprint"] != first["fingerprint"]
        and second["people_scored"] == first["people_scored"] + 1
    )
    entries = rank_client.get(f"{RUNS}/{second['id']}/entries?limit=1", headers=ANALYST).json()["items"]
    assert entries[0]["person_ref"] == "P-NEW" and entries[0]["score"] > 5000
    with rank_client.app.state.runtime.unit_of_work() as uow:  # type: ignore[attr-defined]
        from ranking_service.models import RankOffence

        row = uow.session.exec(select(RankOffence).where(RankOffence.person_id == "P-DEAN-MARSH")).first()
        uow.session.delete(row)
    rep = rank_client.post(f"{RUNS}/{first['id']}/reproduce", headers=ANALYST).json()
    assert not rep["identical"] and not rep["fingerprint_match"]


def test_compare_trajectory_breakdown_and_audit(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    a = run(rank_client, as_of=str(TODAY - timedelta(days=14)), top_n=30)
    b = run(rank_client, as_of=str(TODAY), top_n=30)
    assert b["previous_run_id"] == a["id"]
    cmp = rank_client.get(f"{RUNS}/{b['id']}/comparison", headers=ANALYST).json()
    top = {}
    for run_id in (a["id"], b["id"]):
        items = rank_client.get(f"{RUNS}/{run_id}/entries?top_only=true", headers=ANALYST).json()["items"]
        top[run_id] = {i["person_ref"] for i in items}
    assert {e["person_ref"] for e in cmp["entrants"]["items"]} == top[b["id"]] - top[a["id"]]
    assert {e["person_ref"] for e in cmp["leavers"]["items"]} == top[a["id"]] - top[b["id"]]
    assert cmp["entrants"]["total"] == len(top[b["id"]] - top[a["id"]])
    one = rank_client.get(f"{RUNS}/{b['id']}/comparison", params={"limit": 1, "offset": 1}, headers=ANALYST)
    for key in ("entrants", "leavers", "big_movers"):  # each list is one page with its own total
        got = one.json()[key]
        assert got["total"] == cmp[key]["total"] and got["limit"] == 1 and got["offset"] == 1
        assert got["items"] == cmp[key]["items"][1:2]
    assert cmp["top_jaccard"] == pytest.approx(
        len(top[a["id"]] & top[b["id"]]) / len(top[a["id"]] | top[b["id"]])
    )
    assert -1 <= cmp["kendall_tau"] <= 1
    h = {**ANALYST, "X-Justification": "journey 2 review"}
    traj = rank_client.get("/api/v1/people/P-DEAN-MARSH/trajectory", headers=h).json()
    assert [p["run_id"] for p in traj["items"]] == [a["id"], b["id"]] and traj["total"] == 2
    bd = rank_client.get(f"{RUNS}/{b['id']}/entries/P-DEAN-MARSH", headers=h).json()
    assert bd["in_top"] and len(bd["top_contributions"]) == 3
    assert bd["top_contributions"][0]["weighted"] >= bd["top_contributions"][1]["weighted"]
    with rank_client.app.state.runtime.unit_of_work() as uow:  # type: ignore[attr-defined]
        consults = uow.session.exec(select(AuditEntry).where(AuditEntry.operation == "consult")).all()
    people = [(c.subject_id, c.justification, c.actor) for c in consults if c.subject_type == "person"]
    assert people == [("P-DEAN-MARSH", "journey 2 review", "user:ana")] * 2
    assert {c.justification for c in consults if c.subject_type == "ranking_run"} == {"test: ranking review"}
    views = {c.id: json.loads(c.detail or "{}").get("view") for c in consults}
    lists = [c for c in consults if views[c.id] == "ranking list"]
    assert [c.subject_id for c in lists] == [a["id"]] * len(top[a["id"]]) + [b["id"]] * len(top[b["id"]])
    assert {c.person_ref for c in lists if c.subject_id == b["id"]} == top[b["id"]]  # one entry per person
    compared = {c.person_ref for c in consults if views[c.id] == "run comparison"}
    assert {e["person_ref"] for e in cmp["entrants"]["items"] + cmp["leavers"]["items"]} <= compared
    fair = rank_client.get(f"{RUNS}/{b['id']}/fairness", headers=ANALYST).json()
    assert sum(g["top"] for g in fair["dimensions"]["sex"]) == 30
    assert {g["group"] for g in fair["dimensions"]["age_band"]} <= {
        "under 18",
        "18-24",
        "25-34",
        "35-44",
        "45-54",
        "55+",
    }
    # the breakdown is the top bracket's: an entry below it carries none
    below = rank_client.get(f"{RUNS}/{b['id']}/entries?limit=1&offset=40", headers=ANALYST).json()["items"]
    assert len(below) == 1 and not below[0]["in_top"]
    out = rank_client.get(f"{RUNS}/{b['id']}/entries/{below[0]['person_ref']}", headers=h).json()
    assert not out["in_top"] and out["top_contributions"] == [] and out["score"] > 0
