"""Every query of the ranking-service (plain functions taking the session); nothing else builds SQL.

Bulk rows move as pyarrow tables: COPY on PostgreSQL (inside the session's transaction),
executemany elsewhere. The tables themselves come only from the migrations; the one table made
here is PostgreSQL's session-local ``TEMP`` staging table of the people upsert, gone at the end
of the session and never part of the schema.
"""

from __future__ import annotations

import io
import json
import tempfile
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import MetaData, insert, text
from sqlalchemy import Table as SqlTable
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, delete, func, or_, select

from ranking_service.domain.validation import OFFENCE_SCHEMA
from ranking_service.models import (
    RankEvaluation,
    RankImport,
    RankImportRejection,
    RankOffence,
    RankPerson,
    RankPersonStatus,
    RankRun,
    RankRunEntry,
)

OFFENCE_COLUMNS = [f.name for f in OFFENCE_SCHEMA]
CHUNK = 900  # ids per IN (...) list: below SQLite's parameter limit


# -- bulk movement -----------------------------------------------------------------------
def _driver(s: Session) -> Any:
    return s.connection().connection.driver_connection


def is_postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def _insert_rows(s: Session, table: SqlTable, rows: pa.Table) -> None:
    """Insert an arrow table whose column names are `table`'s columns."""
    if rows.num_rows == 0:
        return
    if is_postgres(s):
        cols = ", ".join(f'"{c}"' for c in rows.column_names)
        buf = io.BytesIO()
        pacsv.write_csv(rows, buf, pacsv.WriteOptions(include_header=False))
        with _driver(s).cursor().copy(f'COPY "{table.name}" ({cols}) FROM STDIN (FORMAT csv)') as cp:
            cp.write(buf.getvalue())
        return
    s.execute(insert(table), rows.to_pylist())


def _copy_query(s: Session, sql: str, schema: pa.Schema) -> pa.Table:
    """Run a SELECT (no parameters: callers inline only integers) through COPY ... TO STDOUT."""
    with tempfile.TemporaryFile() as f:
        with _driver(s).cursor().copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as cp:
            for chunk in cp:
                f.write(chunk)
        if f.tell() == 0:
            return schema.empty_table()
        f.seek(0)
        return pacsv.read_csv(
            f,
            read_options=pacsv.ReadOptions(column_names=schema.names),
            convert_options=pacsv.ConvertOptions(
                column_types={fld.name: fld.type for fld in schema},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )


def _select_arrow(
    s: Session, table: SqlTable, schema: pa.Schema, where: Any = None, order: Any = ()
) -> pa.Table:
    """A SELECT of `schema`'s columns as an arrow table, streamed in batches (SQLite path)."""
    q = sa_select(*[table.c[n] for n in schema.names])
    if where is not None:
        q = q.where(where)
    q = q.order_by(*order)
    result = s.connection().execute(q.execution_options(stream_results=True, yield_per=200_000))
    batches = []
    for part in result.partitions(200_000):
        cols: list[list[Any]] = [list(c) for c in zip(*part, strict=True)] if part else [[] for _ in schema]
        arrays = [pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)]
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


# -- imports -----------------------------------------------------------------------------
def import_by_sha(s: Session, kind: str, sha256: str) -> RankImport | None:
    return s.exec(select(RankImport).where(RankImport.kind == kind, RankImport.sha256 == sha256)).first()


def offence_imports(s: Session, ids: list[str] | None = None) -> list[RankImport]:
    q = select(RankImport).where(RankImport.kind == "offences")
    if ids is not None:
        q = q.where(col(RankImport.id).in_(ids))
    return list(s.exec(q.order_by(col(RankImport.seq))).all())


def people_imports(s: Session) -> list[RankImport]:
    """Every people file imported (the people table is their upsert, in import order)."""
    q = select(RankImport).where(RankImport.kind == "people")
    return list(s.exec(q.order_by(col(RankImport.seq))).all())


def list_imports(s: Session, limit: int, offset: int) -> tuple[list[RankImport], int]:
    total = s.exec(select(func.count()).select_from(RankImport)).one()
    rows = s.exec(select(RankImport).order_by(col(RankImport.seq).desc()).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def get_import(s: Session, import_id: str) -> RankImport | None:
    return s.exec(select(RankImport).where(RankImport.id == import_id)).first()


def add_rejections(s: Session, import_id: str, rows: dict[int, list[dict[str, str]]]) -> None:
    values = [
        {"import_id": import_id, "row_number": r, "reasons": json.dumps(e)} for r, e in sorted(rows.items())
    ]
    if values:
        s.execute(insert(RankImportRejection.__table__), values)  # type: ignore[attr-defined]


def rejections(s: Session, import_id: str, limit: int, offset: int) -> tuple[list[RankImportRejection], int]:
    q = select(RankImportRejection).where(RankImportRejection.import_id == import_id)
    total = s.exec(select(func.count()).select_from(q.subquery())).one()
    rows = s.exec(q.order_by(col(RankImportRejection.row_number)).offset(offset).limit(limit)).all()
    return list(rows), int(total)


# -- offences (table store) ----------------------------------------------------------------
def insert_offences(s: Session, rows: pa.Table) -> None:
    """Accepted offence rows, with their ``import_seq`` and ``row_no`` columns."""
    _insert_rows(s, RankOffence.__table__, rows)  # type: ignore[attr-defined]


def offence_rows(s: Session, import_seqs: list[int]) -> pa.Table:
    """The stored offence rows of the given imports, in import order then file order."""
    if not import_seqs:
        return OFFENCE_SCHEMA.empty_table()
    if is_postgres(s):
        query = (
            f"SELECT {', '.join(OFFENCE_COLUMNS)} FROM rank_offence "
            f"WHERE import_seq IN ({', '.join(str(int(x)) for x in import_seqs)}) ORDER BY import_seq, row_no"
        )
        return _copy_query(s, query, OFFENCE_SCHEMA)
    t = RankOffence.__table__  # type: ignore[attr-defined]
    return _select_arrow(s, t, OFFENCE_SCHEMA, t.c.import_seq.in_(import_seqs), (t.c.import_seq, t.c.row_no))


# -- people ------------------------------------------------------------------------------
def upsert_people(s: Session, table: pa.Table, import_id: str) -> None:
    """Insert or update people (one row per records id in `table`)."""
    table = table.append_column("import_id", pa.array([import_id] * table.num_rows, pa.string()))
    now = datetime.now(UTC)
    table = table.append_column("updated_at", pa.array([now] * table.num_rows, pa.timestamp("us", tz="UTC")))
    cols = table.column_names
    update_cols = [c for c in cols if c != "records_id"]
    if is_postgres(s):
        s.execute(
            text("CREATE TEMP TABLE IF NOT EXISTS rank_person_load (LIKE rank_person) ON COMMIT DELETE ROWS")
        )
        _insert_rows(s, SqlTable("rank_person_load", MetaData()), table)
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


def people(s: Session, refs: list[str]) -> dict[str, RankPerson]:
    out: dict[str, RankPerson] = {}
    for i in range(0, len(refs), CHUNK):
        for p in s.exec(select(RankPerson).where(col(RankPerson.records_id).in_(refs[i : i + CHUNK]))).all():
            out[p.records_id] = p
    return out


DEMOGRAPHICS = pa.schema(
    [
        ("records_id", pa.string()),
        ("sex", pa.string()),
        ("ethnicity", pa.string()),
        ("age_band", pa.string()),
        ("date_of_birth", pa.date32()),
    ]
)


def demographics(s: Session) -> pa.Table:
    """Every known person's recorded sex, ethnicity, age band and date of birth (one query)."""
    if is_postgres(s):
        return _copy_query(s, f"SELECT {', '.join(DEMOGRAPHICS.names)} FROM rank_person", DEMOGRAPHICS)
    return _select_arrow(s, RankPerson.__table__, DEMOGRAPHICS)  # type: ignore[attr-defined]


def statuses(s: Session, refs: list[str]) -> dict[str, RankPersonStatus]:
    out: dict[str, RankPersonStatus] = {}
    for i in range(0, len(refs), CHUNK):
        chunk = refs[i : i + CHUNK]
        for p in s.exec(select(RankPersonStatus).where(col(RankPersonStatus.records_id).in_(chunk))).all():
            out[p.records_id] = p
    return out


def status(s: Session, records_id: str) -> RankPersonStatus | None:
    return s.get(RankPersonStatus, records_id)


# -- runs --------------------------------------------------------------------------------
def get_run(s: Session, run_id: str) -> RankRun | None:
    return s.get(RankRun, run_id)


def list_runs(s: Session, kind: str | None, limit: int, offset: int) -> tuple[list[RankRun], int]:
    """Runs, newest first."""
    q = select(RankRun)
    if kind:
        q = q.where(RankRun.kind == kind)
    total = s.exec(select(func.count()).select_from(q.subquery())).one()
    rows = s.exec(q.order_by(col(RankRun.created_at).desc()).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def runs_in_order(s: Session, kind: str, limit: int, offset: int) -> tuple[list[RankRun], int]:
    """Runs of `kind` in as-of order (oldest first)."""
    q = select(RankRun).where(RankRun.kind == kind)
    total = s.exec(select(func.count()).select_from(q.subquery())).one()
    q = q.order_by(col(RankRun.as_of), col(RankRun.created_at)).offset(offset).limit(limit)
    return list(s.exec(q).all()), int(total)


def previous_production(s: Session, as_of: date, exclude: str | None = None) -> RankRun | None:
    q = select(RankRun).where(RankRun.kind == "production", col(RankRun.as_of) <= as_of)
    if exclude:
        q = q.where(RankRun.id != exclude)
    return s.exec(q.order_by(col(RankRun.as_of).desc(), col(RankRun.created_at).desc())).first()


def run_by_schedule_key(s: Session, key: str) -> RankRun | None:
    return s.exec(select(RankRun).where(RankRun.schedule_key == key)).first()


def last_scheduled_production(s: Session) -> RankRun | None:
    q = select(RankRun).where(RankRun.kind == "production", RankRun.trigger == "scheduled")
    return s.exec(q.order_by(col(RankRun.created_at).desc())).first()


def add_run(s: Session, run: RankRun, entries: list[dict[str, Any]]) -> None:
    """Store a run and its entries (the run first: a duplicate schedule key fails here)."""
    s.add(run)
    s.flush()
    table = RankRunEntry.__table__  # type: ignore[attr-defined]
    for i in range(0, len(entries), 50_000):
        _insert_rows(s, table, pa.Table.from_pylist(entries[i : i + 50_000]))


def entries(
    s: Session, run_id: str, top_only: bool = False, limit: int | None = None, offset: int = 0
) -> list[RankRunEntry]:
    q = select(RankRunEntry).where(RankRunEntry.run_id == run_id)
    if top_only:
        q = q.where(col(RankRunEntry.in_top).is_(True))
    q = q.order_by(col(RankRunEntry.rank)).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return list(s.exec(q).all())


def count_entries(s: Session, run_id: str, top_only: bool = False) -> int:
    q = select(func.count()).select_from(RankRunEntry).where(RankRunEntry.run_id == run_id)
    if top_only:
        q = q.where(col(RankRunEntry.in_top).is_(True))
    return int(s.exec(q).one())


def rank_map(s: Session, run_id: str) -> tuple[dict[str, int], set[str]]:
    rows = s.exec(
        select(RankRunEntry.person_ref, RankRunEntry.rank, RankRunEntry.in_top).where(
            RankRunEntry.run_id == run_id
        )
    ).all()
    return {r[0]: int(r[1]) for r in rows}, {r[0] for r in rows if r[2]}


def entry(s: Session, run_id: str, ref: str) -> RankRunEntry | None:
    return s.exec(
        select(RankRunEntry).where(RankRunEntry.run_id == run_id, RankRunEntry.person_ref == ref)
    ).first()


def trajectory(
    s: Session, ref: str, kind: str, limit: int, offset: int
) -> tuple[list[tuple[RankRun, RankRunEntry | None]], int]:
    """Runs of `kind` in as-of order, each with the person's entry (None: not scored)."""
    runs, total = runs_in_order(s, kind, limit, offset)
    ids = [r.id for r in runs]
    q = select(RankRunEntry).where(RankRunEntry.person_ref == ref, col(RankRunEntry.run_id).in_(ids))
    found = {e.run_id: e for e in s.exec(q).all()} if ids else {}
    return [(r, found.get(r.id)) for r in runs], total


# -- evaluations ---------------------------------------------------------------------------
def latest_evaluation(s: Session, run_id: str) -> RankEvaluation | None:
    q = select(RankEvaluation).where(RankEvaluation.run_id == run_id)
    return s.exec(q.order_by(col(RankEvaluation.id).desc())).first()


# -- data protection (subject access and erasure, by records id) ----------------------------
def people_of(s: Session, refs: list[str]) -> list[RankPerson]:
    return list(s.exec(select(RankPerson).where(col(RankPerson.records_id).in_(refs))).all())


def offences_of(s: Session, refs: list[str]) -> list[RankOffence]:
    return list(s.exec(select(RankOffence).where(col(RankOffence.person_id).in_(refs))).all())


def entries_of(s: Session, refs: list[str]) -> list[RankRunEntry]:
    return list(s.exec(select(RankRunEntry).where(col(RankRunEntry.person_ref).in_(refs))).all())


def statuses_of(s: Session, refs: list[str]) -> list[RankPersonStatus]:
    return list(s.exec(select(RankPersonStatus).where(col(RankPersonStatus.records_id).in_(refs))).all())


def delete_person_data(s: Session, refs: list[str]) -> dict[str, int]:
    """Delete the people's offences, demographics and status; the rows deleted of each."""
    return {
        "offences": s.exec(delete(RankOffence).where(col(RankOffence.person_id).in_(refs))).rowcount,
        "people": s.exec(delete(RankPerson).where(col(RankPerson.records_id).in_(refs))).rowcount,
        "status": s.exec(delete(RankPersonStatus).where(col(RankPersonStatus.records_id).in_(refs))).rowcount,
    }


def runs_mentioning(s: Session, fields: tuple[str, ...], refs: list[str]) -> list[RankRun]:
    """The runs whose stored JSON `fields` contain any of `refs` (as text)."""
    mentions = [getattr(RankRun, f).contains(r) for f in fields for r in refs]
    return list(s.exec(select(RankRun).where(or_(*mentions))).all()) if mentions else []


def save(s: Session, *rows: Any) -> None:
    for row in rows:
        s.add(row)
    s.flush()
