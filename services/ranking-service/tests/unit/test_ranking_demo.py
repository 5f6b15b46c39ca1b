"""Demo seeding: a synthetic force, a back-tested run a year ago, a fortnight's history, today's run."""

from __future__ import annotations

from fastapi.testclient import TestClient
from hhpu_shared.testing.plugin import identity_headers
from ranking_service.demo import seed_demo

H = identity_headers("unit_supervisor")
H["X-Justification"] = "test: demo review"


def test_seed_demo(rank_client: TestClient) -> None:
    runtime = rank_client.app.state.runtime  # type: ignore[attr-defined]
    out = seed_demo(runtime, runtime.settings, n_people=800, n_offences=6000, seed=3)
    again = seed_demo(runtime, runtime.settings, n_people=800, n_offences=6000, seed=3, with_runs=False)
    assert again["offences_import"]["duplicate"] and again["people_import"]["duplicate"]
    runs = {
        k: rank_client.get(f"/api/v1/ranking-runs/{out[k]}", headers=H).json()
        for k in ("past_run_id", "fortnight_run_id", "current_run_id")
    }
    assert runs["past_run_id"]["candidates_emitted"] == runs["fortnight_run_id"]["candidates_emitted"] == 0
    assert runs["current_run_id"]["candidates_emitted"] == 50
    assert runs["current_run_id"]["previous_run_id"] == out["fortnight_run_id"]
    ev = rank_client.get(f"/api/v1/ranking-runs/{out['past_run_id']}/evaluation", headers=H).json()
    assert ev["follow_up_days"] == 365 and ev["follow_up_complete"]
    dean = rank_client.get(f"/api/v1/ranking-runs/{out['current_run_id']}/entries/P-DEAN-MARSH", headers=H)
    assert dean.status_code == 200 and dean.json()["in_top"]
