"""The API: roles, runs and their candidate events, reproduction, comparison, evaluation, audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hhpu_shared.audit import AuditEntry
from hhpu_shared.events.contracts.case import AssessmentDecided, AssessmentOpened, CaseAdopted, CaseExited
from hhpu_shared.testing.plugin import identity_headers
from ranking_service.domain.weights import load_edition
from ranking_service.synthetic import SyntheticForce
from scipy import stats
from sqlmodel import select

ANALYST = identity_headers("analyst", subject="user:ana")
ANALYST["X-Justification"] = "test: ranking review"
RUNS = "/api/v1/ranking-runs"
TODAY = datetime.now(UTC).date()


def run(client: TestClient, **body: object) -> dict:  # type: ignore[type-arg]
    r = client.post(RUNS, json=body, headers=ANALYST)
    assert r.status_code == (200 if body.get("kind") == "dry" else 201), r.text
    return r.json()  # type: ignore[no-any-return]


def test_roles(rank_client: TestClient) -> None:
    assert rank_client.get(RUNS).status_code == 401
    assert (
        rank_client.get(RUNS, headers=identity_headers("partner_agency", agency_id="das")).status_code == 403
    )
    om = identity_headers("offender_manager") | {"X-Justification": "test: roles"}
    assert rank_client.get(RUNS, headers=om).status_code == 200
    assert rank_client.post(RUNS, json={}, headers=om).status_code == 403
    sup = identity_headers("unit_supervisor") | {"X-Justification": "test: roles"}
    assert rank_client.post(RUNS, json={"kind": "dry"}, headers=sup).status_code == 200
    assert "s.49" in rank_client.get("/openapi.json").json()["info"]["description"]


def test_bad_requests_are_problems_with_field_codes(rank_client: TestClient) -> None:
    r = rank_client.post(RUNS, json={"model": "nope@1"}, headers=ANALYST)
    assert r.status_code == 422 and r.json()["errors"][0] == {
        "field": "model",
        "code": "unknown_model",
        "message": "no model nope@1",
    }
    r = rank_client.post(RUNS, json={"top_n": 5, "top_share": 0.1}, headers=ANALYST)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "bracket_conflict"
    r = rank_client.post(RUNS, json={"params": {"lookback_days": 0}}, headers=ANALYST)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "params.lookback_days"
    assert r.json()["errors"][0]["code"] == "too_small"
    # overrides are strict: a boolean or a string is not a number of days, a number is not a flag
    for params, code in (
        ({"lookback_days": True}, "not_an_integer"),
        ({"lookback_days": "30"}, "not_an_integer"),
        ({"half_life_days": "365"}, "not_a_number"),
        ({"use_victims": 1}, "not_a_boolean"),
        ({"no_such_parameter": 1}, "unknown_field"),
    ):
        r = rank_client.post(RUNS, json={"kind": "dry", "params": params}, headers=ANALYST)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["errors"][0]["field"] == f"params.{next(iter(params))}", r.text
        assert r.json()["errors"][0]["code"] == code, r.text
    r = rank_client.post(RUNS, json={"weight_edition": "cchi-1999"}, headers=ANALYST)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_edition"
    assert rank_client.get(RUNS, headers=ANALYST).json()["total"] == 0


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


def test_evaluation_equals_scipy_on_the_raw_data(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    t = TODAY - timedelta(days=365)
    past = run(rank_client, as_of=str(t), model="total_harm@1", top_n=40)
    assert past["candidates_emitted"] == 0  # back-dated: for evaluation only
    r = rank_client.post(
        f"{RUNS}/{past['id']}/evaluations",
        json={"follow_up_days": 365, "bootstrap_replicates": 200},
        headers=ANALYST,
    )
    assert r.status_code == 201, r.text
    ev = r.json()
    # independent computation from the raw synthetic rows
    ed = load_edition("cchi-2020")
    later: dict[str, float] = {}
    for row in rank_force.offences.to_pylist():
        if t < row["offence_date"] <= t + timedelta(days=365):
            days = ed.days(row["offence_code"])
            later[row["person_id"]] = later.get(row["person_id"], 0.0) + (
                ed.fallback_days if days is None else days
            )
    items = []
    offset = 0
    while True:
        page = rank_client.get(
            f"{RUNS}/{past['id']}/entries?limit=500&offset={offset}", headers=ANALYST
        ).json()
        items += page["items"]
        offset += 500
        if offset >= page["total"]:
            break
    score = np.array([i["score"] for i in items])
    harm = np.array([later.get(i["person_ref"], 0.0) for i in items])
    ref = stats.spearmanr(score, harm)
    assert ev["spearman_harm"]["rho"] == pytest.approx(ref.statistic, abs=1e-12)
    assert ev["spearman_harm"]["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    lo, hi = ev["spearman_harm"]["ci95"]
    assert lo < ev["spearman_harm"]["rho"] < hi
    assert ev["top_share_of_later_harm"] == pytest.approx(harm[:40].sum() / harm.sum())
    assert 0.0 < ev["auc_high_harm"] < 1.0 and ev["follow_up_complete"]
    assert (
        rank_client.get(f"{RUNS}/{past['id']}/evaluation", headers=ANALYST).json()["evaluation_id"]
        == ev["evaluation_id"]
    )
    png = rank_client.get(f"{RUNS}/{past['id']}/evaluation.png", headers=ANALYST)
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"


def test_import_ledger_and_rejections_endpoint(rank_client: TestClient, tmp_path: Path) -> None:
    body = (
        b"person_id,offence_code,offence_date,recorded_date,outcome\nP-1,008/67,2025-01-01,2025-01-01,charged\n"
        b"P-2,xx,2025-01-01,2025-01-01,charged\n"
    )
    r = rank_client.post("/api/v1/imports/offences?filename=a.csv", content=body, headers=ANALYST)
    assert r.status_code == 201 and r.json()["rows_rejected"] == 1
    again = rank_client.post("/api/v1/imports/offences?filename=b.csv", content=body, headers=ANALYST).json()
    assert again["duplicate"] and again["import_id"] == r.json()["import_id"]
    ledger = rank_client.get("/api/v1/imports", headers=ANALYST).json()
    assert ledger["total"] == 1
    rej = rank_client.get(f"/api/v1/imports/{r.json()['import_id']}/rejections", headers=ANALYST).json()
    assert rej["items"] == [
        {
            "row": 2,
            "errors": [
                {
                    "field": "offence_code",
                    "code": "invalid_code",
                    "message": "not a Home Office code like 008/67",
                }
            ],
        }
    ]
    om = identity_headers("offender_manager")
    bad_kind = rank_client.post("/api/v1/imports/victims?filename=a.csv", content=body, headers=ANALYST)
    assert bad_kind.status_code == 422
    assert (
        rank_client.post("/api/v1/imports/offences?filename=a.csv", content=body, headers=om).status_code
        == 403
    )
    assert rank_client.get("/api/v1/weight-editions/cchi-2020", headers=om).json()["checksum"]


def test_history_and_data_quality(
    rank_client: TestClient, rank_tools: Any, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    a = run(rank_client, as_of=str(TODAY - timedelta(days=28)), top_n=30)
    b = run(rank_client, as_of=str(TODAY - timedelta(days=14)), top_n=30)
    ev = rank_client.post(
        f"{RUNS}/{a['id']}/evaluations",
        json={"follow_up_days": 14, "bootstrap_replicates": 100},
        headers=ANALYST,
    )
    assert ev.status_code == 201
    hist = rank_client.get("/api/v1/ranking-history", headers=ANALYST).json()["items"]
    assert [h["run_id"] for h in hist] == [a["id"], b["id"]]
    assert (
        hist[0]["evaluation"]["spearman_harm"] == ev.json()["spearman_harm"] and hist[1]["evaluation"] is None
    )
    assert hist[1]["top_jaccard_vs_previous"] == b["comparison"]["top_jaccard"]
    dq = rank_client.get("/api/v1/data-quality", headers=ANALYST).json()
    unmapped = {r["offence_code"]: r["rows"] for r in dq["unmapped_codes"]}
    codes = rank_force.offences["offence_code"].to_pylist()
    assert unmapped == {"149/99": codes.count("149/99")} and dq["rows"] == len(codes)
    assert rank_client.get("/api/v1/data-quality?edition=nope", headers=ANALYST).status_code == 404


def test_person_views_need_a_justification(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    b = run(rank_client, top_n=10)
    bare = identity_headers("analyst", subject="user:ana")
    for path in (
        f"{RUNS}/{b['id']}/entries",
        f"{RUNS}/{b['id']}/entries/P-DEAN-MARSH",
        "/api/v1/people/P-DEAN-MARSH/trajectory",
    ):
        r = rank_client.get(path, headers=bare)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "X-Justification", path
        assert rank_client.get(path, headers=ANALYST).status_code == 200, path


LISTS = [
    RUNS,
    "/api/v1/ranking-runs/{run}/entries",
    "/api/v1/imports",
    "/api/v1/imports/{imp}/rejections",
    "/api/v1/ranking-history",
    "/api/v1/people/P-1/trajectory",
    "/api/v1/audit/{service}",  # the audit trail: the data protection officer's
    "/api/v1/models",
    "/api/v1/weight-editions",
]
NESTED = {"/api/v1/ranking-runs/{run_id}/comparison"}  # one page per list inside the answer
DPO = {**identity_headers("data_protection_officer", subject="user:dpo"), "X-Justification": "test: paging"}


@pytest.mark.parametrize("query", ["offset=" + str(2**70), "limit=-1", "limit=" + str(10**9)])
def test_every_list_rejects_out_of_range_paging(rank_client: TestClient, query: str) -> None:
    body = (
        b"person_id,offence_code,offence_date,recorded_date,outcome\nP-1,xx,2025-01-01,2025-01-01,charged\n"
    )
    imp = rank_client.post("/api/v1/imports/offences?filename=a.csv", content=body, headers=ANALYST).json()
    r = run(rank_client, top_n=5)
    paths = [p.format(run=r["id"], imp=imp["import_id"], service="ranking-service") for p in LISTS]
    for path in paths:
        who = DPO if "/audit/" in path else ANALYST
        ok = rank_client.get(path, headers=who)
        assert ok.status_code == 200 and {"items", "total", "limit", "offset"} <= set(ok.json()), path
        bad = rank_client.get(f"{path}?{query}", headers=who)
        assert bad.status_code == 422, (path, bad.text)
        assert bad.headers["content-type"].startswith("application/problem+json"), path
    # the lists tested are every operation that pages, and every one returns the one page shape
    doc = rank_client.get("/openapi.json").json()
    paged = {
        path
        for path, ops in doc["paths"].items()
        if any(q["name"] == "offset" for q in ops.get("get", {}).get("parameters", []))
    }
    expected = {p.replace("{run}", "{run_id}").replace("{imp}", "{import_id}") for p in LISTS}
    assert paged == {p.replace("P-1", "{person_ref}") for p in expected} | NESTED
