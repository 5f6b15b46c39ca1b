"""From stored offence rows (a pyarrow table) to the integer arrays the models score."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ranking_service.domain.catalog import ModelParams
from ranking_service.domain.grouping import group_by_person, needs_grouping
from ranking_service.domain.scoring import CHUNK_ROWS, OffenceArrays
from ranking_service.domain.validation import OFFENCE_SCHEMA
from ranking_service.domain.weights import DOMAIN_BITS, WeightEdition


@dataclass
class PreparedInputs:
    """The rows as the models score them: clustered by person when the stored order is not (see
    `domain.grouping`); `order` then gives each prepared row's row in `table` (None: same order)."""

    table: pa.Table
    arrays: OffenceArrays
    people: list[str]  # person refs, index = person code
    key_rank: np.ndarray  # lexical rank of each person ref (tie-break)
    codes: list[str]
    code: np.ndarray  # per row, index into codes
    fallback: np.ndarray  # per row: weight is the edition's fallback (unmapped code)
    unmapped: dict[str, int] = field(default_factory=dict)
    order: np.ndarray | None = None

    def stored_rows(self, mask: np.ndarray) -> np.ndarray:
        """The rows of `table`, in stored order, of the prepared rows in the bool mask `mask`."""
        if self.order is None:
            return np.flatnonzero(mask)
        stored = np.zeros(len(mask), dtype=bool)
        stored[self.order[mask]] = True
        return np.flatnonzero(stored)


def _encode(col: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    enc = pc.dictionary_encode(col)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks() if enc.num_chunks != 1 else enc.chunk(0)
    idx = np.asarray(pc.fill_null(enc.indices, -1), dtype=np.int64)
    return idx, enc.dictionary


def prepare(
    table: pa.Table, edition: WeightEdition, params: ModelParams, *, chunk_rows: int = CHUNK_ROWS
) -> PreparedInputs:
    """The stored rows coded for the models, clustered by person when chunks of `chunk_rows` rows
    would otherwise scatter their sums (a shuffled extract, or imports adding people in another order)."""
    table = table.select([f.name for f in OFFENCE_SCHEMA]).cast(OFFENCE_SCHEMA)
    person_idx, people = _encode(table["person_id"])
    code_idx, codes_arr = _encode(table["offence_code"])
    codes = codes_arr.to_pylist()
    days, masks, mapped = edition.lookup(codes, params.fallback_days)
    out_idx, outcomes = _encode(table["outcome"])
    ow = np.array([params.outcome_weights.get(o, 1.0) for o in outcomes.to_pylist()], dtype=np.float64)
    harm = days[code_idx] * (ow[out_idx] if len(ow) else 1.0)
    dom = masks[code_idx]
    da = np.asarray(pc.fill_null(table["domestic_abuse"], False), dtype=bool)
    hate = np.asarray(pc.fill_null(table["hate_crime"], False), dtype=bool)
    dom = dom | np.where(da, DOMAIN_BITS["domestic_abuse"], 0).astype(np.uint16)
    dom = dom | np.where(hate, DOMAIN_BITS["hate_crime"], 0).astype(np.uint16)
    victim, _ = _encode(table["victim_ref"])
    excluded = (
        np.isin(np.array(codes, dtype=object), list(params.exclude_codes)) if codes else np.zeros(0, bool)
    )
    eligible = ~excluded[code_idx] if params.exclude_codes else None
    fallback = ~mapped[code_idx]
    unmapped_counts = np.bincount(code_idx[fallback], minlength=len(codes))
    unmapped = {codes[i]: int(unmapped_counts[i]) for i in np.flatnonzero(unmapped_counts)}
    key_rank = np.empty(len(people), dtype=np.int64)
    key_rank[np.asarray(pc.sort_indices(people), dtype=np.int64)] = np.arange(len(people))
    arrays = OffenceArrays(
        person=person_idx.astype(np.int32),
        n_people=len(people),
        day=np.asarray(table["offence_date"].cast(pa.int32()), dtype=np.int32),
        recorded=np.asarray(table["recorded_date"].cast(pa.int32()), dtype=np.int32),
        harm=harm.astype(np.float64),
        domains=dom.astype(np.uint16),
        victim=victim,
        eligible=eligible,
    )
    order = None
    if needs_grouping(arrays.person, chunk_rows):
        arrays, grouped = group_by_person(
            arrays, {"code_index": code_idx, "fallback": fallback}, chunk_rows=chunk_rows
        )
        code_idx, fallback, order = grouped.columns["code_index"], grouped.columns["fallback"], grouped.order
    return PreparedInputs(
        table, arrays, people.to_pylist(), key_rank, codes, code_idx, fallback, unmapped, order
    )


def fingerprint(table: pa.Table, rows: np.ndarray | None = None) -> str:
    """SHA-256 of the input rows (all columns, in stored order); `rows` selects a subset.

    Column by column, so only one selected column is materialised at a time."""
    t = table.select([f.name for f in OFFENCE_SCHEMA]).cast(OFFENCE_SCHEMA)
    idx = pa.array(rows) if rows is not None else None
    h = hashlib.sha256()
    h.update(f"rows={t.num_rows if idx is None else len(idx)};".encode())
    for name in t.column_names:
        col = t[name] if idx is None else t[name].take(idx)
        arr = col.combine_chunks() if len(col) else pa.array([], t.schema.field(name).type)
        h.update(name.encode())
        h.update(np.asarray(arr.is_null(), dtype=np.uint8).tobytes())
        if pa.types.is_string(arr.type):
            lengths = np.asarray(pc.fill_null(pc.binary_length(arr), -1), dtype=np.int32)
            h.update(lengths.tobytes())
            bufs = arr.buffers()
            if len(arr) and bufs[2] is not None:
                offs = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
                h.update(memoryview(bufs[2])[offs[0] : offs[-1]])
        elif pa.types.is_boolean(arr.type):
            h.update(np.asarray(pc.fill_null(arr, False), dtype=np.uint8).tobytes())
        else:
            h.update(np.asarray(pc.fill_null(arr.cast(pa.int32()), 0), dtype=np.int32).tobytes())
        del col, arr
    return h.hexdigest()
