"""HTTP API of the ranking-service (mounted under /api/v1)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from hhpu_shared.audit import AuditOperation
from hhpu_shared.auth import Principal, Role
from hhpu_shared.errors import NotFound, ValidationProblem, field_error
from hhpu_shared.http import UoWDep, get_runtime, require_roles
from starlette.concurrency import run_in_threadpool

from ranking_service import repository as repo
from ranking_service.domain.catalog import CATALOG, resolve
from ranking_service.domain.weights import available_editions, load_edition
from ranking_service.importer import import_file
from ranking_service.schemas import (
    DryRunPublic,
    EntryPage,
    EntryPublic,
    EvaluationCreate,
    ImportPage,
    ImportPublic,
    ImportReportPublic,
    RejectionPage,
    RejectionPublic,
    RunCreate,
    RunPage,
    RunPublic,
)
from ranking_service.service import analysis
from ranking_service.service.runs import DryRun, RunRequest, execute_run, reproduce
from ranking_service.settings import RankingSettings

RUNNERS = (Role.ANALYST, Role.UNIT_SUPERVISOR)
READERS = (Role.ANALYST, Role.UNIT_SUPERVISOR, Role.OFFENDER_MANAGER)
IMPORTERS = (Role.ANALYST, Role.ADMINISTRATOR)
Runner = Annotated[Principal, Depends(require_roles(*RUNNERS))]
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Importer = Annotated[Principal, Depends(require_roles(*IMPORTERS))]
Justification = Annotated[
    str, Header(alias="X-Justification", max_length=500, description="why you consult this person's data")
]
DEFAULT_JUSTIFICATION = "review of the harm ranking by the HHPU"

router = APIRouter(tags=["ranking"])


def settings_of(request: Request) -> RankingSettings:
    return cast(RankingSettings, get_runtime(request).settings)


@router.get("/models")
def list_models(_: Reader) -> dict[str, Any]:
    """The versioned scoring models and their parameters."""
    return {"models": {ref: resolve(ref).model_dump() for ref in CATALOG}}


@router.get("/weight-editions")
def list_editions(request: Request, _: Reader) -> dict[str, Any]:
    """Harm weight editions available (Cambridge Crime Harm Index and other weight sets)."""
    return {"editions": available_editions(settings_of(request).weights_dir)}


@router.get("/weight-editions/{edition}")
def get_edition(edition: str, request: Request, _: Reader) -> dict[str, Any]:
    """One edition: offence code -> days, label and high-harm domains."""
    try:
        ed = load_edition(edition, settings_of(request).weights_dir)
    except KeyError as exc:
        raise NotFound(f"no weight edition {edition}") from exc
    return {
        "edition": ed.edition,
        "name": ed.name,
        "source": ed.source,
        "checksum": ed.checksum,
        "fallback_days": ed.fallback_days,
        "weights": [e.__dict__ for e in ed.entries.values()],
    }


@router.get("/ranking-history")
def get_history(
    uow: UoWDep, _: Runner, kind: Annotated[str, Query(pattern="^(production|shadow)$")] = "production"
) -> dict[str, Any]:
    """Every run with its top-bracket stability against the previous run and its latest back-test."""
    return analysis.history(uow, kind)


@router.get("/data-quality")
def get_data_quality(
    request: Request, uow: UoWDep, _: Runner, edition: Annotated[str | None, Query(max_length=64)] = None
) -> dict[str, Any]:
    """Offence codes in the stored records without a weight in the edition (they get the fallback)."""
    return analysis.data_quality(uow, settings_of(request), edition)


@router.post("/ranking-runs", status_code=201, response_model=RunPublic | DryRunPublic)
def create_run(
    body: RunCreate, request: Request, response: Response, uow: UoWDep, _: Runner
) -> RunPublic | DryRunPublic:
    """Run a ranking now: production, a shadow run of a candidate model, or a dry run (not stored).
    The result proposes people for human assessment; it decides nothing (DPA 2018 s.49-s.50)."""
    req = RunRequest(**body.model_dump())
    out = execute_run(uow, settings_of(request), req)
    if isinstance(out, DryRun):
        response.status_code = 200  # computed, not stored
        c = out.computation
        top = [
            EntryPublic(
                rank=i + 1,
                person_ref=p,
                score=float(c.scores[i]),
                harm_total=float(c.harm[i]),
                offence_count=int(c.counts[i]),
                in_top=True,
                provisional=bool(c.entry_provisional[i]),
            )
            for i, p in enumerate(c.people[: c.top_size])
        ]
        return DryRunPublic(
            model=out.model_ref,
            as_of=c.as_of,
            fingerprint=c.fingerprint,
            people_scored=len(c.people),
            top_bracket_size=c.top_size,
            provisional_reasons=c.provisional_reasons,
            data_quality=c.data_quality,
            comparison=out.comparison,
            top=top,
        )
    return RunPublic.of(out)


@router.get("/ranking-runs", response_model=RunPage)
def list_runs(
    uow: UoWDep,
    _: Reader,
    kind: Annotated[str | None, Query(pattern="^(production|shadow)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> RunPage:
    """Stored runs, newest first."""
    rows, total = repo.list_runs(uow.session, kind, limit, offset)
    return RunPage(items=[RunPublic.of(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/ranking-runs/{run_id}", response_model=RunPublic)
def get_run(run_id: str, uow: UoWDep, _: Reader) -> RunPublic:
    """One run: model, parameters, weight edition, as-of date, fingerprint, provisional flag."""
    return RunPublic.of(analysis.get_run(uow, run_id))


@router.get("/ranking-runs/{run_id}/entries", response_model=EntryPage)
def list_entries(
    run_id: str,
    uow: UoWDep,
    _: Reader,
    top_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    justification: Justification = DEFAULT_JUSTIFICATION,
) -> EntryPage:
    """The ranking, best first (person references only; the consultation is audited)."""
    analysis.get_run(uow, run_id)
    rows = repo.entries(uow.session, run_id, top_only, limit, offset)
    uow.audit(
        AuditOperation.CONSULT,
        subject_type="ranking_run",
        subject_id=run_id,
        justification=justification,
        detail={"view": "ranking list", "offset": offset, "people": [e.person_ref for e in rows]},
    )
    items = [EntryPublic.model_validate(e.model_dump()) for e in rows]
    total = repo.count_entries(uow.session, run_id, top_only)
    return EntryPage(run_id=run_id, items=items, total=total, limit=limit, offset=offset)


@router.get("/ranking-runs/{run_id}/entries/{person_ref}")
def get_breakdown(
    run_id: str, person_ref: str, uow: UoWDep, _: Reader, justification: Justification = DEFAULT_JUSTIFICATION
) -> dict[str, Any]:
    """One person's score and the offences that contribute most (audited consultation)."""
    return analysis.person_breakdown(uow, run_id, person_ref, justification)


@router.post("/ranking-runs/{run_id}/reproduce")
def reproduce_run(run_id: str, request: Request, uow: UoWDep, _: Runner) -> dict[str, Any]:
    """Recompute a stored run from its stored inputs and parameters and report any difference."""
    return reproduce(uow, settings_of(request), run_id)


@router.get("/ranking-runs/{run_id}/comparison")
def compare_runs(
    run_id: str,
    request: Request,
    uow: UoWDep,
    _: Runner,
    other: Annotated[str | None, Query(alias="with", max_length=40)] = None,
) -> dict[str, Any]:
    """Entrants, leavers, big movers, Kendall's tau and top-bracket Jaccard against another run."""
    return analysis.compare(uow, settings_of(request), run_id, other)


@router.get("/ranking-runs/{run_id}/fairness")
def get_fairness(run_id: str, uow: UoWDep, _: Runner) -> dict[str, Any]:
    """Top bracket by recorded sex, age band and ethnicity against the scored population."""
    return analysis.fairness(uow, run_id)


@router.post("/ranking-runs/{run_id}/evaluations", status_code=201)
def create_evaluation(
    run_id: str, body: EvaluationCreate, request: Request, uow: UoWDep, _: Runner
) -> dict[str, Any]:
    """Back-test the run on the follow-up window after its as-of date and store the figures."""
    ev = analysis.evaluate_run(
        uow, settings_of(request), run_id, body.follow_up_days, body.bootstrap_replicates, body.seed
    )
    return analysis.latest_evaluation(uow, ev.run_id)


@router.get("/ranking-runs/{run_id}/evaluation")
def get_evaluation(run_id: str, uow: UoWDep, _: Reader) -> dict[str, Any]:
    """The latest stored back-test of the run."""
    return analysis.latest_evaluation(uow, run_id)


@router.get("/ranking-runs/{run_id}/evaluation.png", response_class=Response)
def get_evaluation_chart(run_id: str, uow: UoWDep, _: Reader) -> Response:
    """Decile chart (share of later harm and lift) of the latest back-test."""
    return Response(analysis.decile_chart(analysis.latest_evaluation(uow, run_id)), media_type="image/png")


@router.get("/people/{person_ref}/trajectory")
def get_trajectory(
    person_ref: str,
    uow: UoWDep,
    _: Reader,
    kind: Annotated[str, Query(pattern="^(production|shadow)$")] = "production",
    justification: Justification = DEFAULT_JUSTIFICATION,
) -> dict[str, Any]:
    """One person's rank and score across runs (audited consultation)."""
    return analysis.trajectory(uow, person_ref, kind, justification)


@router.get("/imports", response_model=ImportPage)
def list_imports(
    uow: UoWDep,
    _: Runner,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ImportPage:
    """The import ledger (one row per file, keyed by SHA-256)."""
    rows, total = repo.list_imports(uow.session, limit, offset)
    return ImportPage(items=[ImportPublic.of(i) for i in rows], total=total, limit=limit, offset=offset)


@router.get("/imports/{import_id}/rejections", response_model=RejectionPage)
def list_rejections(
    import_id: str,
    uow: UoWDep,
    _: Runner,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> RejectionPage:
    """The validation report of an import: every rejected row with its row number and reasons."""
    import json

    if repo.get_import(uow.session, import_id) is None:
        raise NotFound(f"no import {import_id}")
    rows, total = repo.rejections(uow.session, import_id, limit, offset)
    items = [RejectionPublic(row=r.row_number, errors=json.loads(r.reasons)) for r in rows]
    return RejectionPage(import_id=import_id, items=items, total=total, limit=limit, offset=offset)


@router.post("/imports/{kind}", status_code=201, response_model=ImportReportPublic)
async def upload_import(
    kind: str,
    request: Request,
    principal: Importer,
    filename: Annotated[str, Query(max_length=200, pattern=r"^[\w.\-]+\.(csv|ndjson|jsonl|parquet)$")],
) -> ImportReportPublic:
    """Import a records-system export sent as the raw request body (CSV, NDJSON or Parquet)."""
    if kind not in ("offences", "people"):
        raise ValidationProblem([field_error("kind", "invalid_choice", "kind is offences or people")])
    runtime = get_runtime(request)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / filename
        with path.open("wb") as f:
            async for chunk in request.stream():
                f.write(chunk)
        report = await run_in_threadpool(
            import_file, path, kind, runtime=runtime, settings=settings_of(request), principal=principal
        )
    return ImportReportPublic.model_validate(report.as_dict())
