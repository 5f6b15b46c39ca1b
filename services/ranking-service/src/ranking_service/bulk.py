"""Bulk row movement: COPY on PostgreSQL (inside the session's transaction), executemany elsewhere."""

from __future__ import annotations

import io
import tempfile
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Table, insert
from sqlmodel import Session


def _driver(session: Session) -> Any:
    return session.connection().connection.driver_connection


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def insert_rows(session: Session, table: Table, rows: pa.Table) -> None:
    """Insert an arrow table whose column names are `table`'s columns."""
    if rows.num_rows == 0:
        return
    if is_postgres(session):
        cols = ", ".join(f'"{c}"' for c in rows.column_names)
        buf = io.BytesIO()
        pacsv.write_csv(rows, buf, pacsv.WriteOptions(include_header=False))
        with _driver(session).cursor().copy(f'COPY "{table.name}" ({cols}) FROM STDIN (FORMAT csv)') as cp:
            cp.write(buf.getvalue())
        return
    session.execute(insert(table), rows.to_pylist())


def copy_query(session: Session, sql: str, schema: pa.Schema) -> pa.Table:
    """Run a SELECT (no parameters: callers inline only integers) through COPY ... TO STDOUT."""
    with tempfile.TemporaryFile() as f:
        cur = _driver(session).cursor()
        with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as cp:
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
