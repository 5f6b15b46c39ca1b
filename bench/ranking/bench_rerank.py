"""Speed benchmark: full re-rank of BENCH_PEOPLE people with BENCH_OFFENCES offence records.

Generates a synthetic force (ranking_service.synthetic), then times the vectorised re-rank
(weights -> score -> rank -> top bracket -> breakdown of the top bracket) for several models,
reports rows/s, wall time and peak memory, and, when a PostgreSQL URL is given, the same
recency-weighted score by a plain SQL GROUP BY in PostgreSQL on the same rows (COPY, then query),
with the ratio and a check that both give the same scores.

Env: BENCH_PEOPLE (1000000), BENCH_OFFENCES (10000000), BENCH_SEED (1), BENCH_PG_URL (or
HHPU_TEST_PG_URL; "" to skip), BENCH_REPEATS (3; the median is reported), BENCH_RESULTS
(bench/results/ranking.json), BENCH_SERVICE_PATH (0; 1 also times the service's path from string
records: dictionary-encoding and the input fingerprint).
Run: .venv/bin/python bench/ranking/bench_rerank.py
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import resource
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from ranking_service.domain.catalog import resolve
from ranking_service.domain.scoring import (
    OffenceArrays,
    rank_order,
    score,
    top_bracket_size,
    top_contributions,
)
from ranking_service.domain.weights import DOMAIN_BITS, load_edition
from ranking_service.synthetic import CODES, generate_arrays, to_day

MODELS = ("recency_harm@1", "total_harm@1", "hh_recency_harm@1", "rfgv@1")
HEADLINE = "recency_harm@1"
AS_OF = date(2025, 12, 31)
TOP_N = 500


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rerank(arr: Any, model: str) -> tuple[float, dict[str, Any], np.ndarray, np.ndarray]:
    """One full re-rank; returns seconds, summary, score per person and rank order."""
    ed = load_edition("cchi-2020")
    params = resolve(model)
    t0 = time.perf_counter()
    days, masks, _mapped = ed.lookup(list(CODES))
    off = OffenceArrays(
        person=arr.person,
        n_people=arr.n_people,
        day=arr.day,
        recorded=arr.recorded,
        harm=days[arr.code],
        domains=masks[arr.code] | np.where(arr.domestic, DOMAIN_BITS["domestic_abuse"], 0).astype(np.uint8),
        victim=arr.victim,
    )
    res = score(off, to_day(AS_OF), params)
    key = np.arange(arr.n_people)  # person codes are already in records-id order
    order = rank_order(res.score, res.scored, res.components["harm"], key)
    k = top_bracket_size(len(order), TOP_N, None)
    in_top = np.zeros(arr.n_people, dtype=bool)
    in_top[order[:k]] = True
    rows = top_contributions(arr.person, res.contribution, res.window & in_top[arr.person], 3)
    elapsed = time.perf_counter() - t0
    summary = {
        "seconds": round(elapsed, 4),
        "people_scored": int(len(order)),
        "rows_in_window": int(res.window.sum()),
        "top_bracket": k,
        "breakdown_rows": int(len(rows)),
        "rows_per_s": round(len(arr.person) / elapsed),
    }
    return elapsed, summary, res.score, order


def service_path(arr: Any) -> dict[str, Any]:
    """The service's own path: records as strings -> coded arrays (+ fingerprint) -> score."""
    from ranking_service.domain.inputs import fingerprint, prepare
    from ranking_service.synthetic import tables

    t0 = time.perf_counter()
    _people, offences = tables(arr)
    build_s = time.perf_counter() - t0
    params = resolve(HEADLINE)
    t0 = time.perf_counter()
    prep = prepare(offences, load_edition("cchi-2020"), params)
    prepare_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = score(prep.arrays, to_day(AS_OF), params)
    rank_order(res.score, res.scored, res.components["harm"], prep.key_rank)
    score_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fingerprint(offences, np.flatnonzero(res.window))
    fp_s = time.perf_counter() - t0
    return {
        "build_string_table_s": round(build_s, 3),
        "prepare_s": round(prepare_s, 3),
        "score_and_rank_s": round(score_s, 3),
        "fingerprint_s": round(fp_s, 3),
    }


def postgres_groupby(arr: Any, pg_url: str, mine: np.ndarray, my_order: np.ndarray) -> dict[str, Any]:
    """COPY the same rows into PostgreSQL and time the GROUP BY computing the same score."""
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pacsv

    url = pg_url.replace("postgresql+psycopg://", "postgresql://")
    days, _m, _ = load_edition("cchi-2020").lookup(list(CODES))
    p = resolve(HEADLINE)
    out: dict[str, Any] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_rank_offence")
        conn.execute(
            "CREATE UNLOGGED TABLE bench_rank_offence (person int, harm float8, day int, recorded int)"
        )
        t0 = time.perf_counter()
        with conn.cursor().copy("COPY bench_rank_offence FROM STDIN (FORMAT csv)") as cp:
            step = 1_000_000
            for i in range(0, len(arr.person), step):
                sl = slice(i, i + step)
                t = pa.table(
                    {"p": arr.person[sl], "h": days[arr.code[sl]], "d": arr.day[sl], "r": arr.recorded[sl]}
                )
                buf = io.BytesIO()
                pacsv.write_csv(t, buf, pacsv.WriteOptions(include_header=False))
                cp.write(buf.getvalue())
        conn.execute("ANALYZE bench_rank_offence")
        out["copy_s"] = round(time.perf_counter() - t0, 3)
        as_of = to_day(AS_OF)
        sql = (
            "SELECT person, SUM(harm * exp(-(%(a)s - day) * ln(2.0) / %(hl)s)) AS score "
            "FROM bench_rank_offence WHERE recorded <= %(a)s AND day <= %(a)s AND day > %(a)s - %(lb)s "
            "GROUP BY person ORDER BY score DESC, person"
        )
        args = {"a": as_of, "hl": p.half_life_days, "lb": p.lookback_days}
        conn.execute("DROP TABLE IF EXISTS bench_rank_result")
        t0 = time.perf_counter()
        conn.execute("CREATE TEMP TABLE bench_rank_result AS " + sql, args)
        out["query_s"] = round(time.perf_counter() - t0, 4)
        rows = conn.execute("SELECT person, score FROM bench_rank_result").fetchall()
        conn.execute("DROP TABLE bench_rank_offence")
    pg_person = np.array([r[0] for r in rows], dtype=np.int64)
    pg_score = np.array([r[1] for r in rows], dtype=np.float64)
    out["people"] = int(len(rows))
    out["max_rel_diff"] = (
        float(np.max(np.abs(pg_score - mine[pg_person]) / np.maximum(1.0, pg_score))) if len(rows) else 0.0
    )
    out["same_people"] = bool(
        len(rows) == len(my_order) and set(pg_person.tolist()) == set(my_order.tolist())
    )
    n = min(100, len(rows))
    out["top100_same_scores"] = bool(
        np.allclose(np.sort(pg_score[:n]), np.sort(mine[my_order[:n]]), rtol=1e-9)
    )
    return out


def main(env: dict[str, str] | None = None) -> dict[str, Any]:
    env = {**os.environ, **(env or {})}
    people = int(env.get("BENCH_PEOPLE", "1000000"))
    offences = int(env.get("BENCH_OFFENCES", "10000000"))
    seed = int(env.get("BENCH_SEED", "1"))
    pg_url = env.get("BENCH_PG_URL", env.get("HHPU_TEST_PG_URL", ""))
    results = Path(
        env.get("BENCH_RESULTS", str(Path(__file__).resolve().parents[1] / "results" / "ranking.json"))
    )
    t0 = time.perf_counter()
    arr = generate_arrays(
        people, offences, seed=seed, start=date(2022, 1, 1), split=date(2025, 1, 1), end=AS_OF
    )
    gen_s = time.perf_counter() - t0
    models: dict[str, Any] = {}
    headline: tuple[float, np.ndarray, np.ndarray] | None = None
    repeats = max(1, int(env.get("BENCH_REPEATS", "3")))
    for m in MODELS:
        times = []
        for _ in range(repeats):
            elapsed, summary, sc, order = rerank(arr, m)
            times.append(elapsed)
        median = float(np.median(times))
        summary.update(
            seconds=round(median, 4),
            best_s=round(min(times), 4),
            repeats=repeats,
            rows_per_s=round(len(arr.person) / median),
        )
        models[m] = summary
        if m == HEADLINE:
            headline = (median, sc, order)
    assert headline is not None
    report: dict[str, Any] = {
        "benchmark": "ranking full re-rank",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "people": people,
        "offences": offences,
        "headline_model": HEADLINE,
        "compute_s": round(headline[0], 4),
        "rows_per_s": round(offences / headline[0]),
        "generation_s": round(gen_s, 3),
        "models": models,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__},
    }
    if env.get("BENCH_SERVICE_PATH", "0") == "1":
        report["service_path"] = service_path(arr)
        report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if pg_url:
        pg = postgres_groupby(arr, pg_url, headline[1], headline[2])
        pg["ratio_pg_over_numpy"] = round(pg["query_s"] / headline[0], 2) if headline[0] > 0 else math.inf
        report["postgres_groupby"] = pg
        report["peak_rss_mb"] = round(peak_rss_mb(), 1)
    else:
        report["postgres_groupby"] = None
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
