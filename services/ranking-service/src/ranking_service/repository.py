"""Every query of the ranking-service."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ranking_service.bulk import copy_query, insert_rows, is_postgres
from ranking_service.models import (
    RankEvaluation,
    RankImport,
    RankImportRejection,
    RankPerson,
    RankPersonStatus,
    RankRun,
    RankRunEntry,
)


def offence_imports(s: Session, ids: list[str] | None = None) -> list[RankImport]:
    q = select(RankImport).where(RankImport.kind == "offences")
    if ids is not None:
        q = q.where(col(RankImport.id).in_(ids))
    return list(s.exec(q.order_by(col(RankImport.seq))).all())


def list_imports(s: Session, limit: int, offset: int) -> tuple[list[RankImport], int]:
    total = s.exec(select(func.count()).select_from(RankImport)).one()
    rows = s.exec(select(RankImport).order_by(col(RankImport.seq).desc()).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def get_import(s: Session, import_id: str) -> RankImport | None:
    return s.exec(select(RankImport).where(RankImport.id == import_id)).first()


def rejections(s: Session, import_id: str, limit: int, offset: int) -> tuple[list[RankImportRejection], int]:
    q = select(RankImportRejection).where(RankImportRejection.import_id == import_id)
    total = s.exec(select(func.count()).select_from(q.subquery())).one()
    rows = s.exec(q.order_by(col(RankImportRejection.row_number)).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def people(s: Session, refs: list[str]) -> dict[str, RankPerson]:
    out: dict[str, RankPerson] = {}
    for i in range(0, len(refs), 900):
        chunk = refs[i : i + 900]
        for p in s.exec(select(RankPerson).where(col(RankPerson.records_id).in_(chunk))).all():
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
        return copy_query(s, f"SELECT {', '.join(DEMOGRAPHICS.names)} FROM rank_person", DEMOGRAPHICS)
    t = RankPerson.__table__  # type: ignore[attr-defined]
    rows = s.execute(sa_select(*[t.c[n] for n in DEMOGRAPHICS.names])).all()
    cols: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in DEMOGRAPHICS]
    return pa.table(
        [pa.array(c, f.type) for c, f in zip(cols, DEMOGRAPHICS, strict=True)], schema=DEMOGRAPHICS
    )


def statuses(s: Session, refs: list[str]) -> dict[str, RankPersonStatus]:
    out: dict[str, RankPersonStatus] = {}
    for i in range(0, len(refs), 900):
        chunk = refs[i : i + 900]
        for p in s.exec(select(RankPersonStatus).where(col(RankPersonStatus.records_id).in_(chunk))).all():
            out[p.records_id] = p
    return out


def status(s: Session, records_id: str) -> RankPersonStatus:
    st = s.get(RankPersonStatus, records_id)
    return st if st is not None else RankPersonStatus(records_id=records_id)


def get_run(s: Session, run_id: str) -> RankRun | None:
    return s.get(RankRun, run_id)


def list_runs(s: Session, kind: str | None, limit: int, offset: int) -> tuple[list[RankRun], int]:
    q = select(RankRun)
    if kind:
        q = q.where(RankRun.kind == kind)
    total = s.exec(select(func.count()).select_from(q.subquery())).one()
    rows = s.exec(q.order_by(col(RankRun.created_at).desc()).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def previous_production(s: Session, as_of: date, exclude: str | None = None) -> RankRun | None:
    q = select(RankRun).where(RankRun.kind == "production", col(RankRun.as_of) <= as_of)
    if exclude:
        q = q.where(RankRun.id != exclude)
    return s.exec(q.order_by(col(RankRun.as_of).desc(), col(RankRun.created_at).desc())).first()


def run_by_schedule_key(s: Session, key: str) -> RankRun | None:
    return s.exec(select(RankRun).where(RankRun.schedule_key == key)).first()


def insert_entries(s: Session, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), 50_000):
        insert_rows(s, RankRunEntry.__table__, pa.Table.from_pylist(rows[i : i + 50_000]))  # type: ignore[attr-defined]


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


def trajectory(s: Session, ref: str, kind: str) -> list[tuple[RankRun, RankRunEntry | None]]:
    runs = s.exec(
        select(RankRun).where(RankRun.kind == kind).order_by(col(RankRun.as_of), col(RankRun.created_at))
    ).all()
    found = {e.run_id: e for e in s.exec(select(RankRunEntry).where(RankRunEntry.person_ref == ref)).all()}
    return [(r, found.get(r.id)) for r in runs]


def latest_evaluation(s: Session, run_id: str) -> RankEvaluation | None:
    q = select(RankEvaluation).where(RankEvaluation.run_id == run_id)
    return s.exec(q.order_by(col(RankEvaluation.id).desc())).first()
