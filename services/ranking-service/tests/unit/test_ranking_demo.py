"""Demo seeding: a synthetic force, a back-tested run a year ago, a fortnight's history, today's run."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from hhpu_shared.messaging.outbox import OutboxRecord
from hhpu_shared.testing.plugin import identity_headers
from ranking_service.demo import seed_demo
from ranking_service.models import RankRun
from ranking_service.service.schedule import run_due
from sqlmodel import select

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


def test_demo_history_proposes_nothing_and_today_is_this_fortnights_scheduled_run(
    rank_client: TestClient,
) -> None:
    """Runs that propose no one (back-dated, or history seeded without candidates) put no big movers
    on the next meeting either; `scheduled=True` makes today's run the period's scheduled run, so
    the schedule owes nothing more (the demo's first agenda stays small)."""
    runtime = rank_client.app.state.runtime  # type: ignore[attr-defined]
    settings = runtime.settings
    out = seed_demo(
        runtime,
        settings,
        n_people=800,
        n_offences=6000,
        seed=3,
        history_runs=1,
        scheduled=True,
        current_top_n=8,
    )
    with runtime.unit_of_work() as uow:
        rows = uow.session.exec(
            select(OutboxRecord).where(OutboxRecord.type == "ranking.run_completed")
        ).all()
        events = {r.aggregateid: json.loads(r.payload)["data"] for r in rows}
        history = [out["past_run_id"], out["fortnight_run_id"], *out["history_run_ids"]]
        compared = {rid: json.loads(uow.session.get(RankRun, rid).comparison) for rid in history}
    assert len(events) == len(history) + 1
    assert all(events[rid]["big_movers"] == [] for rid in history)
    assert any(c.get("big_movers") for c in compared.values())  # there were movers to hold back
    current = rank_client.get(f"/api/v1/ranking-runs/{out['current_run_id']}", headers=H).json()
    assert current["trigger"] == "scheduled" and current["candidates_emitted"] == 8
    with runtime.unit_of_work() as uow:
        assert run_due(uow, settings, datetime.now(UTC)) == []  # this period's production run is made
