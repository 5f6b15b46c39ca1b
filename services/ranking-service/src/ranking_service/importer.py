"""Bulk import of records-system exports (CSV, NDJSON, Parquet), streamed in batches.

``import_file(path, kind="offences"|"people", runtime=..., settings=...)`` validates every row,
stores the accepted ones, records every rejected one with its row number and reasons, and keeps
a ledger keyed by the file's SHA-256 so that importing the same file again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from hhpu_shared.audit import AuditOperation
from hhpu_shared.auth import Principal
from hhpu_shared.errors import ValidationProblem, field_error
from hhpu_shared.runtime import ServiceRuntime
from sqlalchemy import MetaData, Table, insert, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select
from tqdm import tqdm

from ranking_service.bulk import insert_rows, is_postgres
from ranking_service.domain.weights import load_edition
from ranking_service.models import RankImport, RankImportRejection, RankPerson
from ranking_service.settings import RankingSettings
from ranking_service.store import OffenceWriter
from ranking_service.validation import (
    OFFENCE_SCHEMA,
    PEOPLE_SCHEMA,
    missing_columns,
    validate_offences,
    validate_people,
)

FORMATS = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson", ".parquet": "parquet"}
REPORT_REJECTIONS = 1000
Batch = tuple[pa.RecordBatch, np.ndarray, dict[int, list[dict[str, str]]]]


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

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _names(kind: str) -> list[str]:
    return [f.name for f in (OFFENCE_SCHEMA if kind == "offences" else PEOPLE_SCHEMA)]


def _csv_batches(path: Path, kind: str, bar: tqdm) -> Iterator[Batch]:
    skipped: list[tuple[int, str]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        skipped.append(
            (int(row.number or 0) - 1, f"expected {row.expected_columns} columns, got {row.actual_columns}")
        )
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 23),
        parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in _names(kind)}),
    )
    _check_columns(reader.schema.names, kind)
    next_row = 1
    for batch in reader:
        bad = dict(skipped)
        skipped.clear()
        candidates = np.arange(next_row, next_row + batch.num_rows + len(bad), dtype=np.int64)
        rows = candidates[~np.isin(candidates, np.fromiter(bad, dtype=np.int64, count=len(bad)))][
            : batch.num_rows
        ]
        next_row = int(candidates[-1]) + 1 if len(candidates) else next_row
        extra = {r: [{"field": "row", "code": "malformed_row", "message": m}] for r, m in bad.items()}
        bar.update(batch.num_rows + len(bad))
        yield batch, rows, extra
    if skipped:  # malformed rows after the last batch
        yield (
            pa.RecordBatch.from_pylist([], schema=pa.schema([])),
            np.zeros(0, dtype=np.int64),
            {r: [{"field": "row", "code": "malformed_row", "message": m}] for r, m in skipped},
        )


def _ndjson_batches(path: Path, kind: str, batch_rows: int, bar: tqdm) -> Iterator[Batch]:
    names = _names(kind)
    buf: list[dict[str, Any]] = []
    nums: list[int] = []
    extra: dict[int, list[dict[str, str]]] = {}

    def flush() -> Batch:
        cols = {n: pa.array([_text(r.get(n)) for r in buf], type=pa.string()) for n in names}
        out = (pa.RecordBatch.from_pydict(cols), np.array(nums, dtype=np.int64), dict(extra))
        buf.clear()
        nums.clear()
        extra.clear()
        return out

    with path.open("r", encoding="utf-8") as f:
        row = 0
        for line in f:
            if not line.strip():
                continue
            row += 1
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict):
                    raise ValueError("not an object")
                buf.append(rec)
                nums.append(row)
            except ValueError as exc:
                extra[row] = [{"field": "row", "code": "invalid_json", "message": str(exc)[:200]}]
            if len(buf) + len(extra) >= batch_rows:
                bar.update(len(buf) + len(extra))
                yield flush()
    bar.update(len(buf) + len(extra))
    yield flush()


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _parquet_batches(path: Path, kind: str, batch_rows: int, bar: tqdm) -> Iterator[Batch]:
    pf = pq.ParquetFile(path)
    _check_columns(pf.schema_arrow.names, kind)
    bar.total = pf.metadata.num_rows
    cols = [n for n in _names(kind) if n in pf.schema_arrow.names]
    start = 1
    for batch in pf.iter_batches(batch_size=batch_rows, columns=cols):
        yield batch, np.arange(start, start + batch.num_rows, dtype=np.int64), {}
        start += batch.num_rows
        bar.update(batch.num_rows)


def _check_columns(names: list[str], kind: str) -> None:
    missing = missing_columns(names, kind)
    if missing:
        raise ValidationProblem(
            [field_error(m, "missing_column", f"the file has no column {m}") for m in missing],
            "The file lacks required columns; nothing was imported.",
        )


def import_file(
    path: str | Path,
    kind: str = "offences",
    *,
    runtime: ServiceRuntime,
    settings: RankingSettings,
    principal: Principal | None = None,
    fmt: str | None = None,
    batch_rows: int = 100_000,
    progress: bool = False,
    justification: str = "bulk import of a records-system export for harm ranking",
    today: date | None = None,
) -> ImportReport:
    """Import one file; a file already imported (same SHA-256) changes nothing."""
    p = Path(path)
    if kind not in ("offences", "people"):
        raise ValueError("kind must be offences or people")
    fmt = fmt or FORMATS.get(p.suffix.lower())
    if fmt not in ("csv", "ndjson", "parquet"):
        raise ValidationProblem([field_error("file", "unsupported_format", "use .csv, .ndjson or .parquet")])
    sha = file_sha256(p)
    today = today or datetime.now(UTC).date()
    with runtime.unit_of_work(principal) as uow:
        s = uow.session
        prior = s.exec(select(RankImport).where(RankImport.kind == kind, RankImport.sha256 == sha)).first()
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
        max_rec: int | None = None
        with tqdm(unit="rows", disable=not progress, desc=f"import {p.name}") as bar:
            if fmt == "csv":
                batches = _csv_batches(p, kind, bar)
            elif fmt == "ndjson":
                batches = _ndjson_batches(p, kind, batch_rows, bar)
            else:
                batches = _parquet_batches(p, kind, batch_rows, bar)
            try:
                for raw, rows, extra in batches:
                    # `extra` holds rows the reader could not parse (never among `rows`)
                    report.rows_total += len(rows) + len(extra)
                    if raw.num_rows:
                        check = validate_offences if kind == "offences" else validate_people
                        clean, kept, rej = check(raw, rows, today)
                        extra = {**extra, **rej.rows}
                    else:
                        clean, kept = raw, rows
                    report.rows_accepted += clean.num_rows
                    _record_rejections(s, imp.id, extra, report)
                    if clean.num_rows == 0:
                        continue
                    if writer is not None:
                        writer.write(clean, kept)
                        codes = pc.value_counts(clean.column(1)).to_pylist()
                        for vc in codes:
                            if vc["values"] not in edition.entries:
                                unmapped[vc["values"]] = unmapped.get(vc["values"], 0) + vc["counts"]
                        mx = pc.max(clean.column(3)).as_py()
                        if mx is not None:
                            d = (mx - date(1970, 1, 1)).days
                            max_rec = d if max_rec is None else max(max_rec, d)
                    else:
                        _upsert_people(s, clean, imp.id)
                imp.path = writer.finish() if writer is not None else None
            except BaseException:
                if writer is not None:
                    writer.abort()
                raise
        imp.rows_total, imp.rows_accepted = report.rows_total, report.rows_accepted
        imp.rows_rejected = report.rows_rejected
        if max_rec is not None:
            imp.max_recorded_date = date.fromordinal(date(1970, 1, 1).toordinal() + max_rec)
        report.unmapped_codes = dict(sorted(unmapped.items()))
        s.add(imp)
        detail = {"kind": kind, "rows": report.rows_accepted, "rejected": report.rows_rejected}
        uow.audit(
            AuditOperation.COLLECT,
            subject_type="records_import",
            subject_id=imp.id,
            justification=justification,
            detail=detail,
        )
        if writer is not None:
            try:
                s.flush()
            except BaseException:
                writer.abort()
                raise
            writer.publish()
    return report


def _record_rejections(
    s: Session, import_id: str, extra: dict[int, list[dict[str, str]]], rep: ImportReport
) -> None:
    if not extra:
        return
    rows = [
        {"import_id": import_id, "row_number": r, "reasons": json.dumps(e)} for r, e in sorted(extra.items())
    ]
    s.execute(insert(RankImportRejection.__table__), rows)  # type: ignore[attr-defined]
    rep.rows_rejected += len(rows)
    room = REPORT_REJECTIONS - len(rep.rejections)
    rep.rejections.extend({"row": r, "errors": e} for r, e in sorted(extra.items())[: max(room, 0)])
    rep.rejections_truncated = rep.rejections_truncated or room < len(rows)


def _upsert_people(s: Session, batch: pa.RecordBatch, import_id: str) -> None:
    """Insert or update people (the last row of a records id in the batch wins)."""
    table = pa.Table.from_batches([batch])
    ids = table["records_id"]
    if pc.count_distinct(ids).as_py() != table.num_rows:
        by_id = {r["records_id"]: r for r in table.to_pylist()}
        table = pa.Table.from_pylist(list(by_id.values()), schema=table.schema)
    table = table.append_column("import_id", pa.array([import_id] * table.num_rows, pa.string()))
    now = datetime.now(UTC)
    table = table.append_column("updated_at", pa.array([now] * table.num_rows, pa.timestamp("us", tz="UTC")))
    cols = table.column_names
    update_cols = [c for c in cols if c != "records_id"]
    if is_postgres(s):
        s.execute(
            text("CREATE TEMP TABLE IF NOT EXISTS rank_person_load (LIKE rank_person) ON COMMIT DELETE ROWS")
        )
        insert_rows(s, Table("rank_person_load", MetaData()), table)
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in update_cols)
        s.execute(
            text(
                f"INSERT INTO rank_person ({', '.join(cols)}) SELECT {', '.join(cols)} FROM rank_person_load "
                f"ON CONFLICT (records_id) DO UPDATE SET {sets}"
            )
        )
        s.execute(text("DELETE FROM rank_person_load"))
        return
    stmt = sqlite_insert(RankPerson.__table__)  # type: ignore[attr-defined]
    stmt = stmt.on_conflict_do_update(
        index_elements=["records_id"], set_={c: stmt.excluded[c] for c in update_cols}
    )
    s.execute(stmt, table.to_pylist())
