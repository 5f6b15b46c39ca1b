"""Find strings anywhere in a database: every text, JSON and binary column of every table (and, for a
date, every date column). Erasure tests use it to show that a person's name, date of birth and
identifiers are stored nowhere, not just in the columns someone thought of."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Engine, Text, case, cast, func, inspect, literal, select, table
from sqlalchemy import column as sa_column
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.expression import ColumnClause
from sqlalchemy.types import TypeEngine

from hhpu_shared.db import READ_ONLY


def _kind(t: TypeEngine[object]) -> str | None:
    if isinstance(t, sqltypes._Binary):
        return "binary"
    if isinstance(t, sqltypes.JSON):
        return "json"
    if isinstance(t, sqltypes.String):
        return "text"
    if isinstance(t, sqltypes.Date) and not isinstance(t, sqltypes.DateTime):
        return "date"
    return None


def _as_date(needle: str) -> date | None:
    try:
        return date.fromisoformat(needle)
    except ValueError:
        return None


def _condition(kind: str, col: ColumnClause[Any], needle: str, pg: bool) -> ColumnElement[bool] | None:
    if kind == "date":
        day = _as_date(needle)
        if day is None:
            return None
        return col == literal(day) if pg else func.instr(cast(col, Text), needle) > 0
    if not pg:
        return func.instr(cast(col, Text), needle) > 0
    if kind == "binary":
        return func.strpos(func.convert_from(col, "UTF8"), needle) > 0
    return func.strpos(cast(col, Text), needle) > 0


def find_strings(engine: Engine, needles: Iterable[str]) -> dict[str, list[str]]:
    """needle -> ``table.column`` of each column (text, JSON, binary; date columns for a date) that
    holds it somewhere, as a substring; a needle found nowhere is left out. One query per column."""
    wanted = [n for n in dict.fromkeys(needles) if n]
    found: dict[str, list[str]] = {}
    pg = engine.dialect.name == "postgresql"
    with engine.connect().execution_options(**READ_ONLY) as conn:  # SQLite: no write lock taken
        insp = inspect(conn)
        for name in sorted(insp.get_table_names()):
            for info in insp.get_columns(name):
                kind = _kind(info["type"])
                if kind is None:
                    continue
                col: ColumnClause[Any] = sa_column(info["name"])
                conds = {n: c for n in wanted if (c := _condition(kind, col, n, pg)) is not None}
                if not conds:
                    continue
                counts = [func.sum(case((c, 1), else_=0)) for c in conds.values()]
                row = conn.execute(select(*counts).select_from(table(name, col))).one()
                for needle, hits in zip(conds, row, strict=True):
                    if hits:
                        found.setdefault(needle, []).append(f"{name}.{info['name']}")
    return found
