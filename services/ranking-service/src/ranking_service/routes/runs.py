"""Ranking runs: start one (production, shadow or dry), list, read, reproduce; the ranking itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from hhpu_shared.audit import AuditOperation
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep
from hhpu_shared.uow import UnitOfWork

from ranking_service.routes.common import Reader, RunKind, Runner, SettingsDep
from ranking_service.schemas import DryRunPublic, EntryPublic, RunCreate, RunPublic
from ranking_service.schemas_analysis import BreakdownPublic, ReproducePublic, SchedulePublic
from ranking_service.service import analysis, runs, schedule

router = APIRouter(tags=["ranking"])


@router.post("/ranking-runs", status_code=201, response_model=RunPublic | DryRunPublic)
def create_run(
    body: RunCreate, response: Response, uow: UoWDep, settings: SettingsDep, _: Runner, why: JustificationDep
) -> RunPublic | DryRunPublic:
    """Run a ranking now: production, a shadow run of a candidate model, or a dry run (not stored).
    The result proposes people for human assessment; it decides nothing (DPA 2018 s.49-s.50). The
    caller's justification is recorded with the run; each person the answer shows is audited."""
    out = runs.execute_run(uow, settings, runs.RunRequest(**body.model_dump(), justification=why))
    if isinstance(out, runs.DryRun):
        response.status_code = 200  # computed, not stored
        dry = DryRunPublic.of(out)
        shown = [e.person_ref for e in dry.top] + people_compared(dry.comparison)
        audit_run_view(uow, shown, subject_id="dry", why=why)
        return dry
    run = RunPublic.of(out)
    audit_run_view(uow, people_compared(run.comparison), subject_id=run.id, why=why)
    return run


@router.get("/ranking-runs/schedule", response_model=SchedulePublic)
def get_schedule(uow: UoWDep, settings: SettingsDep, _: Reader) -> dict[str, Any]:
    """The fortnightly schedule: whether it runs, the current period and its production run, when
    the next run is due (`next_run_due_at`) and whether one is overdue (also on the dashboard and
    watched by the HHPURankingRunOverdue alert)."""
    return schedule.schedule_status(uow, settings, datetime.now(UTC))


@router.get("/ranking-runs", response_model=Page[RunPublic])
def list_runs(
    uow: UoWDep, _: Reader, page: PageDep, why: JustificationDep, kind: RunKind | None = None
) -> Page[RunPublic]:
    """Stored runs, newest first (each person a run's comparison names is audited)."""
    rows, total = runs.list_runs(uow, kind, page.limit, page.offset)
    items = [RunPublic.of(r) for r in rows]
    audit_run_view(uow, [p for r in items for p in people_compared(r.comparison)], subject_id="list", why=why)
    return Page.of(items, total, page)


@router.get("/ranking-runs/{run_id}", response_model=RunPublic)
def get_run(run_id: str, uow: UoWDep, _: Reader, why: JustificationDep) -> RunPublic:
    """One run: model, parameters, weight edition, as-of date, fingerprint, provisional flag, and its
    comparison with the previous run (each person it names is audited)."""
    run = RunPublic.of(runs.get_run(uow, run_id))
    audit_run_view(uow, people_compared(run.comparison), subject_id=run.id, why=why)
    return run


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
def reproduce_run(
    run_id: str, uow: UoWDep, settings: SettingsDep, _: Runner, why: JustificationDep
) -> dict[str, Any]:
    """Recompute a stored run from its stored inputs and parameters and report any difference (each
    person a difference names is audited)."""
    out = runs.reproduce(uow, settings, run_id)
    audit_run_view(uow, runs.people_in_differences(out["first_differences"]), subject_id=run_id, why=why)
    return out


def people_compared(comparison: dict[str, Any]) -> list[str]:
    """The people a run's comparison names: entrants, leavers and big movers."""
    return [p["person_ref"] for key in ("entrants", "leavers", "big_movers") for p in comparison.get(key, [])]


def audit_run_view(uow: UnitOfWork, people: list[str], *, subject_id: str, why: str) -> None:
    """One consultation entry per person a run view shows (one entry about no one when none)."""
    uow.audit_people(
        AuditOperation.CONSULT,
        people or [None],
        subject_type="ranking_run",
        subject_id=subject_id,
        justification=why,
    )
