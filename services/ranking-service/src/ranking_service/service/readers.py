"""Readers of records-system exports (CSV, NDJSON, Parquet): batches of raw rows with their row
numbers (1 = first data row), plus the rows a reader could not parse, with reasons."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from hhpu_shared.errors import ValidationProblem, field_error
from tqdm import tqdm

from ranking_service.domain.validation import OFFENCE_SCHEMA, PEOPLE_SCHEMA, missing_columns

FORMATS = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson", ".parquet": "parquet"}
Batch = tuple[pa.RecordBatch, np.ndarray, dict[int, list[dict[str, str]]]]


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


def batches(path: Path, fmt: str, kind: str, batch_rows: int, bar: tqdm) -> Iterator[Batch]:
    """The batches of one file in format `fmt` (csv, ndjson or parquet)."""
    if fmt == "csv":
        return _csv_batches(path, kind, bar)
    if fmt == "ndjson":
        return _ndjson_batches(path, kind, batch_rows, bar)
    return _parquet_batches(path, kind, batch_rows, bar)
