"""The same recency-weighted score computed by polars, duckdb and PostgreSQL on the same rows, for
bench_rerank.py: each returns seconds plus (person, score) of everyone scored, best first."""

from __future__ import annotations

import io
import math
import time
from typing import Any

import numpy as np


def _expr_args(p: Any) -> tuple[int, float]:
    return int(p.lookback_days), -math.log(2.0) / float(p.half_life_days)


def polars_rank(cols: dict[str, np.ndarray], harm_by_code: np.ndarray, as_of: int, p: Any) -> dict[str, Any]:
    import polars as pl

    lb, k = _expr_args(p)
    df = pl.DataFrame({n: cols[n] for n in ("person", "code", "day", "recorded")})
    t0 = time.perf_counter()
    out = (
        df.lazy()
        .filter((pl.col("recorded") <= as_of) & (pl.col("day") <= as_of) & (pl.col("day") > as_of - lb))
        .with_columns(h=pl.lit(pl.Series(harm_by_code)).gather(pl.col("code")))
        .group_by("person")
        .agg(
            pl.len().alias("n"),
            pl.col("h").sum().alias("harm"),
            (pl.col("h") * ((as_of - pl.col("day")).cast(pl.Float64) * k).exp()).sum().alias("score"),
        )
        .sort(["score", "harm", "person"], descending=[True, True, False])
        .collect()
    )
    sec = time.perf_counter() - t0
    return {"seconds": sec, "person": out["person"].to_numpy(), "score": out["score"].to_numpy()}


def duckdb_rank(cols: dict[str, np.ndarray], harm_by_code: np.ndarray, as_of: int, p: Any) -> dict[str, Any]:
    import duckdb
    import pyarrow as pa

    lb, k = _expr_args(p)
    con = duckdb.connect()
    offences = pa.table({n: cols[n] for n in ("person", "code", "day", "recorded")})  # noqa: F841
    weights = pa.table({"code": np.arange(len(harm_by_code), dtype=np.int16), "w": harm_by_code})  # noqa: F841
    sql = (
        "SELECT o.person, SUM(w.w * exp((? - o.day) * ?)) AS score, SUM(w.w) AS harm "
        "FROM offences o JOIN weights w ON o.code = w.code "
        "WHERE o.recorded <= ? AND o.day <= ? AND o.day > ? "
        "GROUP BY o.person ORDER BY score DESC, harm DESC, o.person"
    )
    t0 = time.perf_counter()
    res = con.execute(sql, [as_of, k, as_of, as_of, as_of - lb]).fetchnumpy()
    sec = time.perf_counter() - t0
    con.close()
    return {"seconds": sec, "person": np.asarray(res["person"]), "score": np.asarray(res["score"])}


def postgres_rank(
    cols: dict[str, np.ndarray], harm_by_code: np.ndarray, as_of: int, p: Any, pg_url: str
) -> dict[str, Any]:
    """COPY the rows into an unlogged table (timed apart), then the GROUP BY."""
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv

    lb, _k = _expr_args(p)
    url = pg_url.replace("postgresql+psycopg://", "postgresql://")
    out: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_rank_offence")
        conn.execute(
            "CREATE UNLOGGED TABLE bench_rank_offence (person int, harm float8, day int, recorded int)"
        )
        t0 = time.perf_counter()
        with conn.cursor().copy("COPY bench_rank_offence FROM STDIN (FORMAT csv)") as cp:
            step = 1_000_000
            for i in range(0, len(cols["person"]), step):
                sl = slice(i, i + step)
                t = pa.table(
                    {
                        "p": cols["person"][sl],
                        "h": harm_by_code[cols["code"][sl]],
                        "d": cols["day"][sl],
                        "r": cols["recorded"][sl],
                    }
                )
                buf = io.BytesIO()
                pacsv.write_csv(t, buf, pacsv.WriteOptions(include_header=False))
                cp.write(buf.getvalue())
        conn.execute("ANALYZE bench_rank_offence")
        out["copy_s"] = round(time.perf_counter() - t0, 3)
        sql = (
            "SELECT person, SUM(harm * exp(-(%(a)s - day) * ln(2.0) / %(hl)s)) AS score, SUM(harm) AS harm "
            "FROM bench_rank_offence WHERE recorded <= %(a)s AND day <= %(a)s AND day > %(a)s - %(lb)s "
            "GROUP BY person ORDER BY score DESC, harm DESC, person"
        )
        args = {"a": as_of, "hl": p.half_life_days, "lb": lb}
        conn.execute("DROP TABLE IF EXISTS bench_rank_result")
        t0 = time.perf_counter()
        conn.execute("CREATE TEMP TABLE bench_rank_result AS " + sql, args)
        out["seconds"] = time.perf_counter() - t0
        rows = conn.execute("SELECT person, score FROM bench_rank_result").fetchall()
        conn.execute("DROP TABLE bench_rank_offence")
    out["person"] = np.array([r[0] for r in rows], dtype=np.int64)
    out["score"] = np.array([r[1] for r in rows], dtype=np.float64)
    return out


def agreement(mine: np.ndarray, my_order: np.ndarray, other: dict[str, Any]) -> dict[str, Any]:
    """Same people scored, largest relative score difference, same top 100 (as sets)."""
    person, sc = other["person"].astype(np.int64), other["score"]
    rel = float(np.max(np.abs(sc - mine[person]) / np.maximum(1.0, np.abs(sc)))) if len(sc) else 0.0
    n = min(100, len(person))
    return {
        "people": int(len(person)),
        "same_people": bool(
            len(person) == len(my_order) and np.array_equal(np.sort(person), np.sort(my_order))
        ),
        "max_rel_diff": rel,
        "same_top100": bool(set(person[:n].tolist()) == set(my_order[:n].tolist())),
    }
