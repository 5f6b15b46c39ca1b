"""The whole API flow on real PostgreSQL (COPY paths for offences and entries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hhpu_shared.testing.plugin import identity_headers
from ranking_service.app import create_app
from ranking_service.synthetic import SyntheticForce

H = identity_headers("analyst")
H["X-Justification"] = "test: ranking review on postgres"
RUNS = "/api/v1/ranking-runs"


@pytest.mark.postgres
def test_run_reproduce_compare_evaluate_on_postgres(
    rank_tools: Any, pg_url: str, tmp_path: Path, rank_force: SyntheticForce
) -> None:
    settings = rank_tools.settings_for(pg_url, tmp_path / "data")
    today = datetime.now(UTC).date()
    with TestClient(create_app(settings, run_consumer=False)) as client:
        rank_tools.load_force(client, rank_force, tmp_path)
        body = (
            b"person_id,offence_code,offence_date,recorded_date,outcome,victim_ref\n"
            b'P-Q,008/67,2025-01-01,2025-01-01,charged,"V,1 ""x"""\nP-R,bad,2025-01-01,2025-01-01,charged,\n'
        )
        r = client.post("/api/v1/imports/offences?filename=q.csv", content=body, headers=H)
        assert r.status_code == 201 and (r.json()["rows_accepted"], r.json()["rows_rejected"]) == (1, 1)
        past = client.post(
            RUNS, json={"as_of": str(today - timedelta(days=365)), "top_n": 25}, headers=H
        ).json()
        now = client.post(RUNS, json={"top_n": 25}, headers=H).json()
        assert now["previous_run_id"] == past["id"] and now["candidates_emitted"] == 25
        for run in (past, now):
            rep = client.post(f"{RUNS}/{run['id']}/reproduce", headers=H).json()
            assert rep["identical"], rep
        cmp = client.get(f"{RUNS}/{now['id']}/comparison", headers=H).json()
        assert cmp["before_run_id"] == past["id"] and 0 <= cmp["top_jaccard"] <= 1
        ev = client.post(f"{RUNS}/{past['id']}/evaluations", json={"bootstrap_replicates": 100}, headers=H)
        assert ev.status_code == 201 and ev.json()["people"] == past["people_scored"]
        png = client.get(f"{RUNS}/{past['id']}/evaluation.png", headers=H)
        assert png.content[:4] == b"\x89PNG"
        people = (
            b"records_id,given_name,middle_names,family_name,date_of_birth\nP-DEAN-MARSH,Dean,Jon,Marsh,1991-03-14\n"
            b"P-NEW-1,Ann,,Lee,1980-01-01\nP-NEW-1,Ann,,Leigh,1980-01-01\n"
        )
        r = client.post("/api/v1/imports/people?filename=p.csv", content=people, headers=H)
        assert r.status_code == 201 and r.json()["rows_accepted"] == 3
        with client.app.state.runtime.unit_of_work() as uow:  # type: ignore[attr-defined]
            from ranking_service.models import RankPerson

            assert uow.session.get(RankPerson, "P-NEW-1").family_name == "Leigh"
            assert uow.session.get(RankPerson, "P-DEAN-MARSH").import_id == r.json()["import_id"]
        bd = client.get(f"{RUNS}/{now['id']}/entries/P-DEAN-MARSH", headers=H).json()
        assert bd["in_top"] and bd["top_contributions"][0]["offence_code"] == "005/01"
