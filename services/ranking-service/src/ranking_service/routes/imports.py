"""Imports of records-system exports: upload, the ledger, the validation report of each file."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from hhpu_shared.fields import Line
from hhpu_shared.http import JustificationDep, Page, PageDep, UoWDep
from starlette.concurrency import run_in_threadpool

from ranking_service.routes.common import Importer, Runner, SettingsDep
from ranking_service.schemas import ImportPublic, ImportReportPublic, RejectionPublic
from ranking_service.service import imports

router = APIRouter(tags=["ranking"])


@router.get("/imports", response_model=Page[ImportPublic])
def list_imports(uow: UoWDep, _: Runner, page: PageDep) -> Page[ImportPublic]:
    """The import ledger (one row per file, keyed by SHA-256), newest first."""
    rows, total = imports.list_imports(uow, page.limit, page.offset)
    return Page.of([ImportPublic.of(i) for i in rows], total, page)


@router.get("/imports/{import_id}/rejections", response_model=Page[RejectionPublic])
def list_rejections(import_id: str, uow: UoWDep, _: Runner, page: PageDep) -> Page[RejectionPublic]:
    """The validation report of an import: every rejected row with its row number and reasons."""
    rows, total = imports.rejections(uow, import_id, page.limit, page.offset)
    return Page.of([RejectionPublic(row=r.row_number, errors=e) for r, e in rows], total, page)


@router.post("/imports/{kind}", status_code=201, response_model=ImportReportPublic)
async def upload_import(
    kind: Literal["offences", "people"],
    request: Request,
    uow: UoWDep,
    settings: SettingsDep,
    _: Importer,
    why: JustificationDep,
    filename: Annotated[Line, Query(max_length=200, pattern=r"^[\w.\-]+\.(csv|ndjson|jsonl|parquet)$")],
) -> ImportReportPublic:
    """Import a records-system export sent as the raw request body (CSV, NDJSON or Parquet); the
    collection is audited with the caller's justification."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / filename
        with path.open("wb") as f:
            async for chunk in request.stream():
                f.write(chunk)
        report = await run_in_threadpool(imports.import_file, uow, settings, path, kind, justification=why)
    return ImportReportPublic.model_validate(report.as_dict())
