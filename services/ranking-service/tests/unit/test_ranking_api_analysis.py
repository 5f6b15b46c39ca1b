"""Analysis through the API: evaluation against scipy, the import ledger, history and data quality."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hhpu_shared.testing.plugin import identity_headers
from ranking_api_testing import ANALYST, RUNS, TODAY, run
from ranking_service.domain.weights import load_edition
from ranking_service.synthetic import SyntheticForce
from scipy import stats


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
