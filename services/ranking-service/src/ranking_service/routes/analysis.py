"""Comparisons, fairness, back-tests, the ranking history, a person's trajectory, data quality."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from hhpu_shared.http import JustificationDep, Page, PageDep, PageParams, UoWDep

from ranking_service.routes.common import Reader, RunKind, Runner, SettingsDep
from ranking_service.schemas import EvaluationCreate, HistoryPoint, ModelComparisonCreate, TrajectoryPoint
from ranking_service.schemas_analysis import (
    ComparisonPublic,
    DataQualityPublic,
    EvaluationPublic,
    FairnessPublic,
    HistorySummary,
    ModelComparisonPublic,
)
from ranking_service.service import analysis, comparison, evaluation

router = APIRouter(tags=["ranking"])


def _page_of(rows: list[Any], page: PageParams) -> dict[str, Any]:
    """One page of a list the service computed whole (the shared page shape)."""
    items = rows[page.offset : page.offset + page.limit]
    return {"items": items, "total": len(rows), "limit": page.limit, "offset": page.offset}


@router.get("/ranking-runs/{run_id}/comparison", response_model=ComparisonPublic)
def compare_runs(
    run_id: str,
    uow: UoWDep,
    settings: SettingsDep,
    _: Runner,
    why: JustificationDep,
    page: PageDep,
    other: Annotated[str | None, Query(alias="with", max_length=40)] = None,
) -> dict[str, Any]:
    """Entrants, leavers, big movers, Kendall's tau and top-bracket Jaccard against another run
    (each person in the comparison is audited). Entrants, leavers and big movers are each one page
    (the same `limit` and `offset`, each with its own total)."""
    out = analysis.compare(uow, settings, run_id, other, why)
    return {**out, **{k: _page_of(out[k], page) for k in ("entrants", "leavers", "big_movers")}}


@router.get("/ranking-runs/{run_id}/fairness", response_model=FairnessPublic)
def get_fairness(run_id: str, uow: UoWDep, _: Runner, why: JustificationDep) -> dict[str, Any]:
    """Top bracket by recorded sex, age band and ethnicity against the scored population.

    For each group: its share of the scored population and of the top bracket, their ratio with an
    exact interval, the range of that ratio chance alone gives (random top places: hypergeometric,
    the exact permutation distribution) and a flag only when the group's count is outside chance at
    the family-wise 5% level (Holm); a group too small to say anything is said to be so. Once the run
    is back-tested, `outcomes` gives each group's share of later offending and harm, the precision of
    its top-bracket members and its harm capture, with intervals."""
    return analysis.fairness(uow, run_id, why)


@router.post("/ranking-runs/{run_id}/evaluations", status_code=201, response_model=EvaluationPublic)
def create_evaluation(
    run_id: str, body: EvaluationCreate, uow: UoWDep, settings: SettingsDep, _: Runner
) -> dict[str, Any]:
    """Back-test the run on the follow-up window after its as-of date and store the figures.

    Spearman's rho (later harm and count), the top bracket's share of later harm, its precision and
    the AUC for a later high-harm offence, each with a 95% interval (seeded percentile bootstrap;
    exact Clopper-Pearson for precision); the largest share one person makes of the top share; deciles
    and calibration (observed later harm by score band). `baselines` scores the prior-offence count
    and a random ranking on the same people and resamples, with the paired model-minus-baseline
    difference and its interval; `fairness` gives the per-group outcomes."""
    evaluation.evaluate_run(uow, settings, run_id, body.follow_up_days, body.bootstrap_replicates, body.seed)
    return evaluation.latest_evaluation(uow, run_id)


@router.get("/ranking-runs/{run_id}/evaluation", response_model=EvaluationPublic)
def get_evaluation(run_id: str, uow: UoWDep, _: Reader) -> dict[str, Any]:
    """The latest stored back-test of the run."""
    return evaluation.latest_evaluation(uow, run_id)


@router.get("/ranking-runs/{run_id}/evaluation.png", response_class=Response)
def get_evaluation_chart(run_id: str, uow: UoWDep, _: Reader) -> Response:
    """Decile chart (share of later harm and lift) of the latest back-test."""
    png = evaluation.decile_chart(evaluation.latest_evaluation(uow, run_id))
    return Response(png, media_type="image/png")


@router.get("/ranking-history/summary", response_model=HistorySummary)
def get_history_summary(uow: UoWDep, _: Runner, kind: RunKind = "production") -> dict[str, Any]:
    """Across all run dates: each back-test figure and stability figure per run with its interval,
    the mean across runs with a t-interval, and the trend (slope per year with its 95% interval;
    fewer than three runs: no trend)."""
    return comparison.history_summary(uow, kind)


@router.post("/ranking-runs/model-comparisons", response_model=ModelComparisonPublic)
def compare_models(
    body: ModelComparisonCreate, uow: UoWDep, settings: SettingsDep, _: Runner
) -> dict[str, Any]:
    """Back-test several models and the baselines (prior-offence count, random) on ONE common
    population as of a date: everyone with an offence known then in the longest look-back, whatever
    its domain (a model that leaves someone out ranks them last). The same bootstrap resamples serve
    every ranking, so each model's difference from the first has a paired interval. Nothing is stored
    and nobody is proposed for assessment."""
    return comparison.compare_models(
        uow,
        settings,
        as_of=body.as_of,
        models=body.models,
        follow_up_days=body.follow_up_days,
        top_n=body.top_n,
        n_boot=body.bootstrap_replicates,
        seed=body.seed,
    )


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


@router.get("/data-quality", response_model=DataQualityPublic)
def get_data_quality(
    uow: UoWDep,
    settings: SettingsDep,
    _: Runner,
    why: JustificationDep,
    edition: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Offence codes in the stored records without a weight in the edition (they get the fallback
    weight, are counted per code and, when their class may hide serious harm, make runs provisional)."""
    return analysis.data_quality(uow, settings, edition, why)
