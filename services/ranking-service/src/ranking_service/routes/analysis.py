"""Comparisons, fairness, back-tests, the ranking history, a person's trajectory, data quality."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep

from ranking_service.routes.common import Reader, RunKind, Runner, SettingsDep
from ranking_service.schemas import EvaluationCreate, HistoryPoint, TrajectoryPoint
from ranking_service.service import analysis, evaluation

router = APIRouter(tags=["ranking"])


@router.get("/ranking-runs/{run_id}/comparison")
def compare_runs(
    run_id: str,
    uow: UoWDep,
    settings: SettingsDep,
    _: Runner,
    other: Annotated[str | None, Query(alias="with", max_length=40)] = None,
) -> dict[str, Any]:
    """Entrants, leavers, big movers, Kendall's tau and top-bracket Jaccard against another run."""
    return analysis.compare(uow, settings, run_id, other)


@router.get("/ranking-runs/{run_id}/fairness")
def get_fairness(run_id: str, uow: UoWDep, _: Runner) -> dict[str, Any]:
    """Top bracket by recorded sex, age band and ethnicity against the scored population."""
    return analysis.fairness(uow, run_id)


@router.post("/ranking-runs/{run_id}/evaluations", status_code=201)
def create_evaluation(
    run_id: str, body: EvaluationCreate, uow: UoWDep, settings: SettingsDep, _: Runner
) -> dict[str, Any]:
    """Back-test the run on the follow-up window after its as-of date and store the figures."""
    evaluation.evaluate_run(uow, settings, run_id, body.follow_up_days, body.bootstrap_replicates, body.seed)
    return evaluation.latest_evaluation(uow, run_id)


@router.get("/ranking-runs/{run_id}/evaluation")
def get_evaluation(run_id: str, uow: UoWDep, _: Reader) -> dict[str, Any]:
    """The latest stored back-test of the run."""
    return evaluation.latest_evaluation(uow, run_id)


@router.get("/ranking-runs/{run_id}/evaluation.png", response_class=Response)
def get_evaluation_chart(run_id: str, uow: UoWDep, _: Reader) -> Response:
    """Decile chart (share of later harm and lift) of the latest back-test."""
    png = evaluation.decile_chart(evaluation.latest_evaluation(uow, run_id))
    return Response(png, media_type="image/png")


@router.get("/ranking-history", response_model=Page[HistoryPoint])
def get_history(uow: UoWDep, _: Runner, page: PageDep, kind: RunKind = "production") -> Page[HistoryPoint]:
    """Runs in as-of order, each with its top-bracket stability against the previous run and its
    latest back-test."""
    rows, total = analysis.history(uow, kind, page.limit, page.offset)
    return Page.of([HistoryPoint.model_validate(r) for r in rows], total, page)


@router.get("/people/{person_ref}/trajectory", response_model=Page[TrajectoryPoint])
def get_trajectory(
    person_ref: str,
    uow: UoWDep,
    _: Reader,
    page: PageDep,
    why: JustificationDep,
    kind: RunKind = "production",
) -> Page[TrajectoryPoint]:
    """One person's rank and score across runs, oldest first (audited consultation)."""
    rows, total = analysis.trajectory(uow, person_ref, kind, page.limit, page.offset, why)
    return Page.of([TrajectoryPoint.model_validate(r) for r in rows], total, page)


@router.get("/data-quality")
def get_data_quality(
    uow: UoWDep, settings: SettingsDep, _: Runner, edition: Annotated[str | None, Query(max_length=64)] = None
) -> dict[str, Any]:
    """Offence codes in the stored records without a weight in the edition (they get the fallback)."""
    return analysis.data_quality(uow, settings, edition)
