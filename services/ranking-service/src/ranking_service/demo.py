"""Demo data: a synthetic force imported, a run a year ago back-tested, and a current run.

from ranking_service.demo import seed_demo
seed_demo(app.state.runtime, settings)         # or any ServiceRuntime of this service
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from typing import Any

from hhpu_shared import clock
from hhpu_shared.auth import Principal
from hhpu_shared.runtime import ServiceRuntime

from ranking_service.domain.schedule import period_key
from ranking_service.service.evaluation import evaluate_run
from ranking_service.service.imports import import_file
from ranking_service.service.runs import RunRequest, execute_run
from ranking_service.settings import RankingSettings
from ranking_service.synthetic import generate, write_force


def seed_demo(
    runtime: ServiceRuntime,
    settings: RankingSettings,
    *,
    n_people: int = 5_000,
    n_offences: int = 40_000,
    seed: int = 7,
    today: date | None = None,
    include_scenario_people: bool = True,
    with_runs: bool = True,
    principal: Principal | None = None,
    history_runs: int = 0,
    current_top_n: int | None = None,
    scheduled: bool = False,
) -> dict[str, Any]:
    """Import a synthetic force ending `today`; optionally runs a year ago (back-tested over the year
    since), a fortnight ago (history, no candidate events) and today (candidate events).

    `scheduled`: today's run is the current period's scheduled production run (its schedule key),
    so the fortnightly schedule owes nothing more until the next period.
    Importing is idempotent (same seed and date give the same files, which the ledger skips)."""
    today = today or clock.today()
    force = generate(
        n_people,
        n_offences,
        seed=seed,
        start=today - timedelta(days=4 * 365),
        split=today - timedelta(days=365),
        end=today,
        include_scenario_people=include_scenario_people,
    )
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        people_path, offences_path = write_force(force, d)
        with runtime.unit_of_work(principal) as uow:
            out["people_import"] = import_file(uow, settings, people_path, "people").as_dict()
        with runtime.unit_of_work(principal) as uow:
            out["offences_import"] = import_file(
                uow, settings, offences_path, "offences", today=today
            ).as_dict()
    if not with_runs:
        return out
    # `history_runs` runs eight weeks apart in the year before that one, each back-tested on its year after
    # (history for the evaluation's trend and stability; nobody is proposed for assessment)
    out["history_run_ids"] = []
    for k in range(history_runs, 0, -1):
        as_of = today - timedelta(days=365 + 56 * k)
        with runtime.unit_of_work(principal) as uow:
            req = RunRequest(as_of=as_of, trigger="scheduled", emit_candidates=False)
            run_id = str(getattr(execute_run(uow, settings, req), "id", ""))
        with runtime.unit_of_work(principal) as uow:
            evaluate_run(uow, settings, run_id, 365, 200, 1)
        out["history_run_ids"].append(run_id)
    with runtime.unit_of_work(principal) as uow:
        past = execute_run(uow, settings, RunRequest(as_of=today - timedelta(days=365), trigger="on_demand"))
        out["past_run_id"] = getattr(past, "id", None)
    with runtime.unit_of_work(principal) as uow:
        ev = evaluate_run(uow, settings, out["past_run_id"], 365, 500, 1)
        out["past_evaluation_id"] = ev.id
    with runtime.unit_of_work(principal) as uow:
        fortnight = RunRequest(as_of=today - timedelta(days=14), trigger="scheduled", emit_candidates=False)
        out["fortnight_run_id"] = getattr(execute_run(uow, settings, fortnight), "id", None)
    current = RunRequest(as_of=today, trigger="on_demand", top_n=current_top_n)
    if scheduled:
        current.trigger = "scheduled"
        current.schedule_key = period_key(today, settings.schedule_interval_days)[0]
    with runtime.unit_of_work(principal) as uow:
        now = execute_run(uow, settings, current)
        out["current_run_id"] = getattr(now, "id", None)
    return out
