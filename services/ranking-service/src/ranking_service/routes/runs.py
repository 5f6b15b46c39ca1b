"""Ranking runs: start one (production, shadow or dry), list, read, reproduce; the ranking itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep

from ranking_service.routes.common import Reader, RunKind, Runner, SettingsDep
from ranking_service.schemas import DryRunPublic, EntryPublic, RunCreate, RunPublic
from ranking_service.schemas_analysis import BreakdownPublic, ReproducePublic, SchedulePublic
from ranking_service.service import analysis, runs, schedule

router = APIRouter(tags=["ranking"])


@router.post("/ranking-runs", status_code=201, response_model=RunPublic | DryRunPublic)
def create_run(
    body: RunCreate, response: Response, uow: UoWDep, settings: SettingsDep, _: Runner
) -> RunPublic | DryRunPublic:
    """Run a ranking now: production, a shadow run of a candidate model, or a dry run (not stored).
    The result proposes people for human assessment; it decides nothing (DPA 2018 s.49-s.50)."""
    out = runs.execute_run(uow, settings, runs.RunRequest(**body.model_dump()))
    if isinstance(out, runs.DryRun):
        response.status_code = 200  # computed, not stored
        return DryRunPublic.of(out)
    return RunPublic.of(out)


@router.get("/ranking-runs/schedule", response_model=SchedulePublic)
def get_schedule(uow: UoWDep, settings: SettingsDep, _: Reader) -> dict[str, Any]:
    """The fortnightly schedule: whether it runs, the current period and its production run, when
    the next run is due (`next_run_due_at`) and whether one is overdue (also on the dashboard and
    watched by the HHPURankingRunOverdue alert)."""
    return schedule.schedule_status(uow, settings, datetime.now(UTC))


@router.get("/ranking-runs", response_model=Page[RunPublic])
def list_runs(uow: UoWDep, _: Reader, page: PageDep, kind: RunKind | None = None) -> Page[RunPublic]:
    """Stored runs, newest first."""
    rows, total = runs.list_runs(uow, kind, page.limit, page.offset)
    return Page.of([RunPublic.of(r) for r in rows], total, page)


@router.get("/ranking-runs/{run_id}", response_model=RunPublic)
def get_run(run_id: str, uow: UoWDep, _: Reader) -> RunPublic:
    """One run: model, parameters, weight edition, as-of date, fingerprint, provisional flag."""
    return RunPublic.of(runs.get_run(uow, run_id))


@router.get("/ranking-runs/{run_id}/entries", response_model=Page[EntryPublic])
def list_entries(
    run_id: str,
    uow: UoWDep,
    _: Reader,
    page: PageDep,
    why: JustificationDep,
    top_only: Annotated[bool, Query(description="only the top bracket")] = False,
) -> Page[EntryPublic]:
    """The ranking, best first (person references only; the consultation is audited)."""
    rows, total = analysis.entries(uow, run_id, top_only, page.limit, page.offset, why)
    return Page.of([EntryPublic.model_validate(e.model_dump()) for e in rows], total, page)


@router.get("/ranking-runs/{run_id}/entries/{person_ref}", response_model=BreakdownPublic)
def get_breakdown(
    run_id: str, person_ref: str, uow: UoWDep, _: Reader, why: JustificationDep
) -> dict[str, Any]:
    """One person's score and the offences that contribute most (audited consultation)."""
    return analysis.person_breakdown(uow, run_id, person_ref, why)


@router.post("/ranking-runs/{run_id}/reproduce", response_model=ReproducePublic)
def reproduce_run(run_id: str, uow: UoWDep, settings: SettingsDep, _: Runner) -> dict[str, Any]:
    """Recompute a stored run from its stored inputs and parameters and report any difference."""
    return runs.reproduce(uow, settings, run_id)
