"""Offence rows clustered by person before scoring, so that the sums per person stay on the fast path.

The aggregation (`scoring.score`) adds each chunk's rows per person with a `bincount` over the span
of people the chunk touches; that is cheap when a chunk's rows belong to nearby people (a
person-ordered extract, the synthetic force) and falls back to a scattered `add.at` into the
per-person totals when they do not (a shuffled extract: 60M rows score in about 7 s instead of 2).

`group_by_person` moves the rows into buckets of `BUCKET_PEOPLE` consecutive person indices: a
stable radix partition in one pass over the rows, chunk by chunk. Each chunk's rows are ordered by
bucket with one sort of packed ``bucket << 16 | row`` keys (cache-resident), gathered once into a
record buffer holding every per-row column, and scattered to their bucket's next free places (one
write stream per bucket, so the writes stay sequential). The output is one record array whose
fields are the columns (`take`/scatter of one record instead of one per column); its buffer can be
handed back for the next call. Each person's rows keep their relative order, so the per-person sums
add the same values in the same order as the scattered path on the unordered rows.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ranking_service.domain.scoring import CHUNK_ROWS, OffenceArrays

BUCKET_PEOPLE = 1 << 14  # people per bucket: a chunk of grouped rows spans one or two
PART_ROWS = 1 << 16  # rows per partition step (the packed key holds the row in 16 bits)
SPARSE_SHARE = 1 / 16  # group when chunks the bincount path cannot take hold more of the rows


def sparse_share(person: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> float:
    """Share of the rows in chunks whose people span more than four times their rows (grouped rows
    span a bucket or two)."""
    n = len(person)
    sparse = 0
    for a in range(0, n, chunk_rows):
        p = person[a : a + chunk_rows]
        if int(p.max()) - int(p.min()) + 1 > 4 * len(p) + 4096:
            sparse += len(p)
    return sparse / n if n else 0.0


def needs_grouping(person: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> bool:
    return sparse_share(person, chunk_rows) > SPARSE_SHARE


@dataclass
class Grouped:
    """Rows clustered by person: `columns` (views into `records`) and, when kept, `order`, the
    original row of each grouped row (``grouped[c] == original[c][order]``)."""

    columns: dict[str, np.ndarray]
    records: np.ndarray
    order: np.ndarray | None


def group_rows(
    person: np.ndarray,
    n_people: int,
    columns: dict[str, np.ndarray],
    *,
    keep_order: bool = True,
    threads: int = 1,
    buffer: np.ndarray | None = None,
    bucket_people: int = BUCKET_PEOPLE,
) -> Grouped:
    """The rows of `columns` (each one element per row; `person` among them or not) clustered by
    person, stably, in buckets of `bucket_people` (a power of two) consecutive person indices.
    `buffer`: the `records` of a previous call with the same columns, reused."""
    n = len(person)
    cols = {"person": person, **{k: v for k, v in columns.items() if k != "person"}}
    spec = [(k, v.dtype) for k, v in cols.items()]
    if keep_order:
        spec.append(("order", np.dtype(np.int32 if n < 2**31 else np.int64)))
    spec.sort(key=lambda kv: -kv[1].itemsize)  # widest first: every field aligned
    dt = np.dtype(spec, align=True)
    if buffer is not None and buffer.dtype == dt and len(buffer) == n:
        out = buffer
    else:
        out = np.empty(n, dt)
    shift = max(bucket_people.bit_length() - 1, max(n_people - 1, 0).bit_length() - 16)
    n_buckets = (max(n_people - 1, 0) >> shift) + 1
    ranges = [(a, min(a + PART_ROWS, n)) for a in range(0, n, PART_ROWS)]
    hist = np.empty((len(ranges), n_buckets), dtype=np.int64)
    for i, (a, b) in enumerate(ranges):
        hist[i] = np.bincount(np.right_shift(person[a:b], shift), minlength=n_buckets)
    total = hist.sum(axis=0)
    # where each chunk's rows of each bucket go: the bucket's start plus the earlier chunks' rows
    cursor = np.cumsum(hist, axis=0) - hist + (np.cumsum(total) - total)
    local = np.cumsum(hist, axis=1) - hist  # a bucket's first place among the chunk's sorted rows
    first = cursor - local

    def work(chunks: range) -> None:
        ar = np.arange(PART_ROWS, dtype=np.uint32)
        rec = np.empty(PART_ROWS, dt)
        for i in chunks:
            a, b = ranges[i]
            m = b - a
            key = np.right_shift(person[a:b], shift).astype(np.uint32)
            key <<= 16
            key |= ar[:m]
            key.sort()  # bucket order, rows in order within a bucket (keys are distinct)
            o = (key & 0xFFFF).astype(np.intp)
            key >>= 16
            dest = first[i].take(key.astype(np.intp))
            dest += ar[:m]
            r = rec[:m]
            for name, col in cols.items():
                r[name] = col[a:b]
            if keep_order:
                r["order"] = ar[:m]
                r["order"] += a
            out[dest] = r.take(o)

    if threads > 1 and len(ranges) > 1:
        with ThreadPoolExecutor(threads) as ex:
            list(ex.map(work, [range(t, len(ranges), threads) for t in range(threads)]))
    else:
        work(range(len(ranges)))
    return Grouped({name: out[name] for name in cols}, out, out["order"] if keep_order else None)


_ROW_FIELDS = ("person", "day", "recorded", "harm", "domains", "victim", "eligible", "code", "row_flags")


def group_by_person(
    off: OffenceArrays,
    extra: dict[str, np.ndarray] | None = None,
    *,
    keep_order: bool = True,
    threads: int = 1,
    buffer: np.ndarray | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> tuple[OffenceArrays, Grouped]:
    """`off` with its rows clustered by person (see the module) for scoring in chunks of
    `chunk_rows` (buckets of a quarter of that many people at most), and the grouping (with the
    `extra` per-row columns, grouped alike, among its columns)."""
    cols = {f: getattr(off, f) for f in _ROW_FIELDS if getattr(off, f) is not None}
    cols.update(extra or {})
    g = group_rows(
        off.person, off.n_people, cols, keep_order=keep_order, threads=threads, buffer=buffer,
        bucket_people=min(BUCKET_PEOPLE, 1 << max((chunk_rows // 4).bit_length() - 1, 0)),
    )  # fmt: skip
    per_row: dict[str, Any] = {f: g.columns[f] for f in _ROW_FIELDS if f in g.columns}
    return replace(off, **per_row), g
