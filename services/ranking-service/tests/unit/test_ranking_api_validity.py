"""Through the API: nothing dropped for an unmapped code, back-tests with intervals and baselines,
models compared on one population (checked against scipy), reproducibility of every input."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from ranking_api_testing import ANALYST, RUNS, TODAY
from ranking_api_testing import run as _post_run
from ranking_service.domain.weights import load_edition
from ranking_service.synthetic import SyntheticForce
from scipy import stats


def _write_offences(path: Path, rows: list[tuple[str, str, int]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["person_id", "offence_code", "offence_date", "recorded_date", "outcome"])
        for person, code, ago in rows:
            d = (TODAY - timedelta(days=ago)).isoformat()
            w.writerow([person, code, d, d, "charged"])
    return path


def test_offences_under_codes_missing_from_the_edition_are_scored_reported_and_make_the_run_provisional(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    runtime = rank_client.app.state.runtime  # type: ignore[attr-defined]
    ed = load_edition("cchi-2020")
    assert ed.days("019/99") is None and ed.days("001/99") is None  # rape and homicide classes, no such code
    extra = _write_offences(
        tmp_path / "extra.csv", [("P-UNMAPPED", "019/99", 30), ("P-UNMAPPED", "001/99", 20)]
    )
    rank_tools.import_into(runtime, extra, "offences")
    run = _post_run(rank_client, top_n=30)  # production: hh_recency_harm@2, high-harm filter
    assert run["model"] == "hh_recency_harm" and run["model_version"] == "2"
    page = rank_client.get(f"{RUNS}/{run['id']}/entries?limit=500", headers=ANALYST).json()
    refs = {e["person_ref"]: e for e in page["items"]}
    offset = 500
    while offset < page["total"]:
        more = rank_client.get(
            f"{RUNS}/{run['id']}/entries?limit=500&offset={offset}", headers=ANALYST
        ).json()
        refs.update({e["person_ref"]: e for e in more["items"]})
        offset += 500
    person = refs["P-UNMAPPED"]  # scored although the filter applies: after mapping, never before
    assert person["provisional"] and person["offence_count"] == 2
    assert person["harm_total"] == pytest.approx(2 * ed.fallback_days)
    assert run["provisional"] and "unmapped_codes_possible_serious_harm" in run["provisional_reasons"]
    dq = run["data_quality"]
    assert {"019/99", "001/99"} <= set(dq["unmapped_codes_possible_serious_harm"])
    detail = dq["unmapped_code_details"]["019/99"]
    assert detail["rows"] == 1 and detail["people"] == 1 and detail["possible_serious_harm"]
    assert detail["class_max_days"] >= 1825 and "serious_sexual_offending" in detail["class_domains"]
    assert "149/99" not in dq["unmapped_codes_possible_serious_harm"]  # a minor class stays a count
    listed = rank_client.get("/api/v1/data-quality", headers=ANALYST).json()["unmapped_codes"]
    assert {"019/99", "001/99"} <= {r["offence_code"] for r in listed}
    boundary = dq["bracket_boundary"]
    assert boundary["tied_inside"] >= 1 and "decided_by_tie_break" in boundary


def test_back_test_has_intervals_baselines_and_fairness_of_outcomes(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    past = _post_run(rank_client, as_of=str(TODAY - timedelta(days=365)), top_n=40)
    ev = rank_client.post(
        f"{RUNS}/{past['id']}/evaluations",
        json={"follow_up_days": 365, "bootstrap_replicates": 200},
        headers=ANALYST,
    ).json()
    for key in ("top_share_ci95", "auc_ci95", "top_precision_ci95"):
        lo, hi = ev[key]
        assert lo <= hi
    assert ev["top_share_ci95"][0] <= ev["top_share_of_later_harm"] <= ev["top_share_ci95"][1]
    assert ev["spearman_harm"]["ci95"][0] <= ev["spearman_harm"]["rho"] <= ev["spearman_harm"]["ci95"][1]
    assert 0 < ev["largest_person_share_of_later_harm"] <= ev["top_share_of_later_harm"]
    hits = ev["top_later_offenders"]
    ci = stats.binomtest(hits, 40).proportion_ci(method="exact")
    assert ev["top_precision_ci95"] == pytest.approx([ci.low, ci.high], abs=1e-9)
    base = ev["baselines"]
    assert set(base) == {"prior_offence_count", "random"}
    for b in base.values():
        assert b["people"] == ev["people"] and b["top_bracket"] == 40  # same population, same bracket
        assert b["later_harm_total"] == ev["later_harm_total"]
        assert "ci95" in b["versus_model"]["top_share_of_later_harm"]
    assert sum(r["people"] for r in ev["calibration"]) == ev["people"]
    fair = rank_client.get(f"{RUNS}/{past['id']}/fairness", headers=ANALYST).json()
    # The synthetic force's demographics are drawn independently of offending: no group is flagged.
    assert fair["method"] and fair["flagged_groups"] == [], fair["flagged_groups"]
    sex = {r["group"]: r for r in fair["outcomes"]["sex"]}
    assert sum(r["later_offender_share"] for r in sex.values()) == pytest.approx(1.0)
    assert all("top_precision" in r and "harm_capture" in r for r in sex.values())
    summary = rank_client.get("/api/v1/ranking-history/summary", headers=ANALYST).json()
    assert summary["runs"] == 1 and summary["evaluated_runs"] == 1
    assert summary["figures"]["top_share_of_later_harm"]["per_run"][0]["ci95"] == ev["top_share_ci95"]
    hist = rank_client.get("/api/v1/ranking-history", headers=ANALYST).json()["items"][0]["evaluation"]
    assert hist["prior_count_baseline_top_share"] == base["prior_offence_count"]["top_share_of_later_harm"]


def test_models_are_compared_on_one_population_and_agree_with_scipy(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    t = TODAY - timedelta(days=365)
    body = {
        "as_of": str(t),
        "models": ["hh_recency_harm@2", "total_harm@1", "rfgv@2"],
        "follow_up_days": 365,
        "top_n": 40,
        "bootstrap_replicates": 200,
    }
    r = rank_client.post("/api/v1/ranking-runs/model-comparisons", json=body, headers=ANALYST)
    assert r.status_code == 200, r.text
    out = r.json()
    n = out["population"]["people"]
    figures = {**out["models"], **out["baselines"]}
    assert all(m["people"] == n and m["top_bracket"] == 40 for m in figures.values())
    assert len({m["later_harm_total"] for m in figures.values()}) == 1
    assert out["models"]["hh_recency_harm@2"]["people_scored_by_model"] < n  # filtered: the rest rank last
    assert "versus_hh_recency_harm@2" in out["models"]["rfgv@2"]
    # independent computation of total_harm@1 over the same population from the raw rows
    ed = load_edition("cchi-2020")
    weight: dict[str, float] = {}
    total: dict[str, float] = {}
    later: dict[str, float] = {}
    population: set[str] = set()
    for row in rank_force.offences.to_pylist():
        days = ed.days(row["offence_code"])
        w = ed.fallback_days if days is None else days
        d, rec, p = row["offence_date"], row["recorded_date"], row["person_id"]
        if rec <= t and t - timedelta(days=1095) < d <= t:
            population.add(p)
            if d > t - timedelta(days=730):
                total[p] = total.get(p, 0.0) + w
        if t < d <= t + timedelta(days=365):
            later[p] = later.get(p, 0.0) + w
        weight[p] = 0.0
    assert len(population) == n
    people = sorted(population)
    s = np.array([total.get(p, 0.0) for p in people])
    h = np.array([later.get(p, 0.0) for p in people])
    ref = stats.spearmanr(s, h)
    got = out["models"]["total_harm@1"]["spearman_harm"]
    assert got["rho"] == pytest.approx(ref.statistic, abs=1e-12)
    assert got["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert got["ci95"][0] <= got["rho"] <= got["ci95"][1]


def test_reproduce_covers_engine_weights_offences_and_the_people_file(
    rank_tools: Any, rank_client: TestClient, rank_force: SyntheticForce, tmp_path: Path
) -> None:
    rank_tools.load_force(rank_client, rank_force, tmp_path)
    run = _post_run(rank_client, top_n=30)
    assert (
        run["engine_version"] and len(run["weight_checksum"]) == 64 and len(run["people_fingerprint"]) == 64
    )
    assert {f["kind"] for f in run["input_files"]} == {"offences", "people"}
    rep = rank_client.post(f"{RUNS}/{run['id']}/reproduce", headers=ANALYST).json()
    assert rep["identical"] and all(rep["checks"].values())
    first = rank_force.people["records_id"][0].as_py()
    people = tmp_path / "people-update.csv"
    people.write_text(f"records_id,sex,ethnicity\n{first},F,Other\n")
    rank_tools.import_into(rank_client.app.state.runtime, people, "people")  # type: ignore[attr-defined]
    rep = rank_client.post(f"{RUNS}/{run['id']}/reproduce", headers=ANALYST).json()
    assert not rep["identical"] and rep["checks"]["people"] is False and rep["checks"]["entries"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("ranking_service.service.compute.ENGINE_VERSION", "0.0.0+000000000000")
        rep = rank_client.post(f"{RUNS}/{run['id']}/reproduce", headers=ANALYST).json()
    assert rep["checks"]["engine_version"] is False and rep["stored_engine_version"] == run["engine_version"]
