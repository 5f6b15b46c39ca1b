"""Find strings anywhere in a database: every text, JSON and binary column of every table (and, for a
date, every date column). Erasure tests use it to show that a person's name, date of birth and
identifiers are stored nowhere, not just in the columns someone thought of."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Engine, Text, cast, func, inspect, literal, select, table
from sqlalchemy import column as sa_column
from sqlalchemy.sql import sqltypes
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


def find_strings(engine: Engine, needles: Iterable[str]) -> dict[str, list[str]]:
    """needle -> ``table.column`` of each column (text, JSON, binary; date columns for a date) that
    holds it somewhere, as a substring; a needle found nowhere is left out."""
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
                col = sa_column(info["name"])
                t = table(name, col)
                for needle in wanted:
                    if kind == "date":
                        day = _as_date(needle)
                        if day is None:
                            continue
                        cond = col == literal(day) if pg else func.instr(cast(col, Text), needle) > 0
                    elif not pg:
                        cond = func.instr(cast(col, Text), needle) > 0
                    elif kind == "binary":
                        cond = func.strpos(func.convert_from(col, "UTF8"), needle) > 0
                    else:
                        cond = func.strpos(cast(col, Text), needle) > 0
                    hits = conn.execute(select(func.count()).select_from(t).where(cond)).scalar()
                    if hits:
                        found.setdefault(needle, []).append(f"{name}.{info['name']}")
    return found
