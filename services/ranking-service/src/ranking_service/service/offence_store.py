"""Where accepted offence rows live: the rank_offence table or one parquet file per import."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlmodel import Session

from ranking_service import repository as repo
from ranking_service.domain.validation import OFFENCE_SCHEMA
from ranking_service.models import RankImport
from ranking_service.settings import RankingSettings

COLUMNS = [f.name for f in OFFENCE_SCHEMA]


def parquet_dir(settings: RankingSettings) -> Path:
    return Path(settings.data_dir) / "ranking" / "offences"


class OffenceWriter:
    """Writes one import's accepted rows (with their row numbers) to the configured store."""

    def __init__(self, session: Session, settings: RankingSettings, imp: RankImport) -> None:
        self.session = session
        self.imp = imp
        self.store = settings.offence_store
        self.path: Path | None = None
        self._tmp: Path | None = None
        self._writer: pq.ParquetWriter | None = None
        if self.store == "parquet":
            d = parquet_dir(settings)
            d.mkdir(parents=True, exist_ok=True)
            self.path = d / f"{imp.id}.parquet"
            self._tmp = d / f".{imp.id}.parquet.tmp"
            schema = OFFENCE_SCHEMA.append(pa.field("row_no", pa.int64()))
            self._writer = pq.ParquetWriter(self._tmp, schema)

    def write(self, batch: pa.RecordBatch, rows: np.ndarray) -> None:
        if batch.num_rows == 0:
            return
        if self._writer is not None:
            full = pa.RecordBatch.from_arrays(
                list(batch.columns) + [pa.array(rows.astype(np.int64))],
                schema=self._writer.schema,
            )
            self._writer.write_batch(full)
            return
        table = pa.Table.from_batches([batch])
        table = table.append_column("import_seq", pa.array(np.full(len(rows), self.imp.seq, dtype=np.int64)))
        table = table.append_column("row_no", pa.array(rows.astype(np.int64)))
        repo.insert_offences(self.session, table)

    def finish(self) -> str | None:
        """Close the file (kept under a temporary name until `publish`)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        return str(self.path) if self.path else None

    def publish(self) -> None:
        if self._tmp is not None and self.path is not None and self._tmp.exists():
            self._tmp.replace(self.path)

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._tmp is not None and self._tmp.exists():
            self._tmp.unlink()


def load_offences(session: Session, imports: list[RankImport]) -> pa.Table:
    """The accepted rows of `imports`, in import order then file order."""
    tables: list[pa.Table] = []
    table_seqs = [i.seq for i in imports if i.store == "table"]
    for imp in sorted(imports, key=lambda i: i.seq or 0):
        if imp.store == "parquet":
            if not imp.path or not Path(imp.path).exists():
                raise FileNotFoundError(f"offence store file of import {imp.id} is missing")
            tables.append(pq.read_table(imp.path, columns=COLUMNS).cast(OFFENCE_SCHEMA))
        elif imp.seq == (table_seqs[0] if table_seqs else None):
            tables.append(repo.offence_rows(session, [s for s in table_seqs if s is not None]))
    if not tables:
        return OFFENCE_SCHEMA.empty_table()
    return pa.concat_tables(tables).combine_chunks()
