"""Bulk import of records-system exports (CSV, NDJSON, Parquet), streamed in batches.

``import_file(uow, settings, path, kind)`` validates every row, stores the accepted ones, records
every rejected one with its row number and reasons, and keeps a ledger keyed by the file's SHA-256
so that importing the same file again changes nothing. It runs in the caller's unit of work. Rows
of a person whose data was erased are not stored (counted in the audit entry's `skipped_erased`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hhpu_shared import clock
from hhpu_shared.audit import AuditOperation
from hhpu_shared.errors import NotFound, ValidationProblem, field_error
from hhpu_shared.protection import erased_keys, person_key
from hhpu_shared.uow import UnitOfWork
from tqdm import tqdm

from ranking_service import repository as repo
from ranking_service.domain.validation import validate_offences, validate_people
from ranking_service.domain.weights import load_edition
from ranking_service.models import RankImport, RankImportRejection
from ranking_service.service.offence_store import OffenceWriter
from ranking_service.service.readers import FORMATS, batches
from ranking_service.settings import RankingSettings

REPORT_REJECTIONS = 1000
EPOCH = date(1970, 1, 1)
PURPOSE = "bulk import of a records-system export for harm ranking"
ID_COLUMN = {"offences": "person_id", "people": "records_id"}  # the person's reference in each kind


@dataclass
class ImportReport:
    import_id: str
    kind: str
    sha256: str
    filename: str
    format: str
    duplicate: bool
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    rejections_truncated: bool = False
    unmapped_codes: dict[str, int] = field(default_factory=dict)
    rejected_codes: dict[str, int] = field(default_factory=dict)  # rows rejected for their code, per code

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def reject(self, rows: dict[int, list[dict[str, str]]]) -> None:
        self.rows_rejected += len(rows)
        room = REPORT_REJECTIONS - len(self.rejections)
        self.rejections.extend({"row": r, "errors": e} for r, e in sorted(rows.items())[: max(room, 0)])
        self.rejections_truncated = self.rejections_truncated or room < len(rows)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def import_file(
    uow: UnitOfWork,
    settings: RankingSettings,
    path: str | Path,
    kind: str = "offences",
    *,
    fmt: str | None = None,
    batch_rows: int = 100_000,
    progress: bool = False,
    justification: str = PURPOSE,
    today: date | None = None,
) -> ImportReport:
    """Import one file; a file already imported (same SHA-256) changes nothing."""
    p = Path(path)
    if kind not in ("offences", "people"):
        raise ValidationProblem([field_error("kind", "invalid_choice", "kind is offences or people")])
    fmt = fmt or FORMATS.get(p.suffix.lower())
    if fmt not in ("csv", "ndjson", "parquet"):
        raise ValidationProblem([field_error("file", "unsupported_format", "use .csv, .ndjson or .parquet")])
    sha = file_sha256(p)
    today = today or clock.today()
    s = uow.session
    prior = repo.import_by_sha(s, kind, sha)
    if prior is not None:
        return ImportReport(
            prior.id,
            kind,
            sha,
            prior.filename,
            prior.format,
            True,
            prior.rows_total,
            prior.rows_accepted,
            prior.rows_rejected,
            rejected_codes=json.loads(prior.rejected_codes),
        )
    imp = RankImport(
        id=f"imp-{uuid.uuid4().hex[:16]}",
        kind=kind,
        sha256=sha,
        filename=p.name[:255],
        format=fmt,
        store=settings.offence_store if kind == "offences" else "table",
        created_by=uow.principal.subject,
    )
    s.add(imp)
    s.flush()
    report = ImportReport(imp.id, kind, sha, imp.filename, fmt, False)
    writer = OffenceWriter(s, settings, imp) if kind == "offences" else None
    edition = load_edition(settings.weight_edition, settings.weights_dir)
    unmapped: dict[str, int] = {}
    rejected_codes: dict[str, int] = {}
    max_rec: int | None = None
    # People erased here (DPA 2018 s.47) stay erased: their rows in a later file are not stored.
    erased, skipped_erased = erased_keys(s), 0
    with tqdm(unit="rows", disable=not progress, desc=f"import {p.name}") as bar:
        try:
            for raw, rows, extra in batches(p, fmt, kind, batch_rows, bar):
                # `extra` holds rows the reader could not parse (never among `rows`)
                report.rows_total += len(rows) + len(extra)
                if raw.num_rows:
                    check = validate_offences if kind == "offences" else validate_people
                    clean, kept, rej = check(raw, rows, today)
                    extra = {**extra, **rej.rows}
                    for c, n in rej.codes.items():
                        rejected_codes[c] = rejected_codes.get(c, 0) + n
                else:
                    clean, kept = raw, rows
                if erased:
                    clean, kept, dropped = _without_erased(clean, kept, ID_COLUMN[kind], erased)
                    skipped_erased += dropped
                report.rows_accepted += clean.num_rows
                repo.add_rejections(s, imp.id, extra)
                report.reject(extra)
                if clean.num_rows == 0:
                    continue
                if writer is None:
                    repo.upsert_people(s, _last_per_records_id(clean), imp.id)
                    continue
                writer.write(clean, kept)
                for vc in pc.value_counts(clean.column("offence_code")).to_pylist():
                    if vc["values"] not in edition.entries:
                        unmapped[vc["values"]] = unmapped.get(vc["values"], 0) + vc["counts"]
                mx = pc.max(clean.column("recorded_date")).as_py()
                if mx is not None:
                    d = (mx - EPOCH).days
                    max_rec = d if max_rec is None else max(max_rec, d)
            imp.path = writer.finish() if writer is not None else None
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
    imp.rows_total, imp.rows_accepted = report.rows_total, report.rows_accepted
    imp.rows_rejected = report.rows_rejected
    report.rejected_codes = dict(sorted(rejected_codes.items()))
    imp.rejected_codes = json.dumps(report.rejected_codes)
    if max_rec is not None:
        imp.max_recorded_date = date.fromordinal(EPOCH.toordinal() + max_rec)
    report.unmapped_codes = dict(sorted(unmapped.items()))
    s.add(imp)
    uow.audit(
        AuditOperation.COLLECT,
        subject_type="records_import",
        subject_id=imp.id,
        justification=justification,
        detail={
            "kind": kind,
            "rows": report.rows_accepted,
            "rejected": report.rows_rejected,
            **({"skipped_erased": skipped_erased} if skipped_erased else {}),
        },
    )
    if writer is not None:
        try:
            s.flush()
        except BaseException:
            writer.abort()
            raise
        writer.publish()
    return report


def _without_erased(
    batch: pa.RecordBatch, rows: np.ndarray, column: str, erased: frozenset[str]
) -> tuple[pa.RecordBatch, np.ndarray, int]:
    """The batch without the rows of erased people (checked once per distinct id)."""
    ids = batch.column(column)
    gone = [i for i in pc.unique(ids).to_pylist() if i is not None and person_key(i) in erased]
    if not gone:
        return batch, rows, 0
    drop = np.asarray(pc.fill_null(pc.is_in(ids, value_set=pa.array(gone, pa.string())), False), dtype=bool)
    return batch.filter(pa.array(~drop)), rows[~drop], int(drop.sum())


def _last_per_records_id(batch: pa.RecordBatch) -> pa.Table:
    """The batch as a table with one row per records id (the last row of an id wins)."""
    table = pa.Table.from_batches([batch])
    if pc.count_distinct(table["records_id"]).as_py() != table.num_rows:
        by_id = {r["records_id"]: r for r in table.to_pylist()}
        table = pa.Table.from_pylist(list(by_id.values()), schema=table.schema)
    return table


def list_imports(uow: UnitOfWork, limit: int, offset: int) -> tuple[list[RankImport], int]:
    """The import ledger, newest first."""
    return repo.list_imports(uow.session, limit, offset)


def rejections(
    uow: UnitOfWork, import_id: str, limit: int, offset: int
) -> tuple[list[tuple[RankImportRejection, list[dict[str, str]]]], int]:
    """The rejected rows of an import with their reasons, in file order."""
    if repo.get_import(uow.session, import_id) is None:
        raise NotFound(f"no import {import_id}")
    rows, total = repo.rejections(uow.session, import_id, limit, offset)
    return [(r, json.loads(r.reasons)) for r in rows], total
