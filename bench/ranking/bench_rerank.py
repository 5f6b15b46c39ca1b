"""Speed benchmark: a full re-rank of 10 million and 60 million offence rows (BENCH_SIZES), by the
ranking-service's engine against polars, duckdb and PostgreSQL in the same run.

Per size, a child process generates the synthetic force once (blocks of 10M rows, one tenth as many
people; cached as .npy under BENCH_DATA_DIR) and another child loads the rows and measures, so its
peak RSS is the rows plus the re-rank, not the generator. The re-rank: weights -> score of everyone
(chunked aggregation, `threads` 1 and 2) -> rank order -> top bracket of 500 -> the three largest
contributions of each person shown. polars, duckdb (and PostgreSQL up to BENCH_PG_MAX_ROWS, after a
COPY timed apart) compute the recency-weighted score and order on the same rows; the scores are
checked against the engine's.

The shuffled case: the same rows in a random order (as a records system's extract may come; shuffled
once by a child and cached), re-ranked by the engine after `domain.grouping.group_by_person` clusters
them by person (timed apart as `group_s` and included in `seconds`; its record buffer reused from one
repeat to the next, as a service re-ranking on a schedule would; `first_group_s`: the first call,
which allocates it). Its scores and rank order are
compared with the grouped rows' (saved by the first child).

Env: BENCH_SIZES (10000000,60000000), BENCH_REPEATS (3; medians), BENCH_PG_URL or HHPU_TEST_PG_URL
("" skips PostgreSQL), BENCH_PG_MAX_ROWS (10000000), BENCH_DATA_DIR (/tmp/hhpu-bench-ranking),
BENCH_SHUFFLED (1; 0 skips the shuffled case).
Run: .venv/bin/python bench/ranking/bench_rerank.py  ->  bench/results/ranking.json
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import write_result  # noqa: E402

MODELS = ("recency_harm@1", "total_harm@1", "hh_recency_harm@1", "rfgv@1")
HEADLINE = "recency_harm@1"
AS_OF = date(2025, 12, 31)
TOP_N = 500
BLOCK = 10_000_000
COLS = ("person", "code", "day", "recorded", "flags", "victim")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def data_dir(rows: int) -> Path:
    return Path(os.environ.get("BENCH_DATA_DIR", "/tmp/hhpu-bench-ranking")) / f"rows{rows}"


def generate(rows: int) -> None:
    """Blocks of up to 10M rows (1M people each, seeds 1, 2, ...) written as one .npy per column."""
    from ranking_service.domain.weights import DOMAIN_BITS
    from ranking_service.synthetic import generate_arrays

    out = data_dir(rows)
    out.mkdir(parents=True, exist_ok=True)
    parts: dict[str, list[np.ndarray]] = {c: [] for c in COLS}
    offset = 0
    for i, start in enumerate(range(0, rows, BLOCK)):
        n = min(BLOCK, rows - start)
        a = generate_arrays(n // 10, n, seed=1 + i, start=date(2022, 1, 1), split=date(2025, 1, 1), end=AS_OF)
        parts["person"].append(a.person + np.int32(offset))
        parts["code"].append(a.code)
        parts["day"].append(a.day)
        parts["recorded"].append(a.recorded)
        parts["flags"].append(np.where(a.domestic, DOMAIN_BITS["domestic_abuse"], 0).astype(np.uint16))
        parts["victim"].append(np.where(a.victim >= 0, a.victim + (offset << 4), -1))
        offset += a.n_people
        del a
    for c in COLS:
        np.save(out / f"{c}.npy", np.concatenate(parts[c]))
        parts[c].clear()
    (out / "meta.json").write_text(json.dumps({"rows": rows, "people": offset}))


def shuffle(rows: int) -> None:
    """The generated rows in a random order (seed 17), one column at a time, cached as .npy."""
    src, out = data_dir(rows), shuffled_dir(rows)
    out.mkdir(parents=True, exist_ok=True)
    perm = np.random.default_rng(17).permutation(rows)
    for c in COLS[:-1]:
        np.save(out / f"{c}.npy", np.load(src / f"{c}.npy")[perm])
    (out / "meta.json").write_text((src / "meta.json").read_text())


def shuffled_dir(rows: int) -> Path:
    return data_dir(rows).with_name(f"rows{rows}-shuffled")


def _arrays(cols: dict[str, np.ndarray], people: int) -> Any:
    from ranking_service.domain.scoring import OffenceArrays
    from ranking_service.domain.weights import load_edition
    from ranking_service.synthetic import CODES

    days, masks, _ = load_edition("cchi-2020").lookup(list(CODES))
    return OffenceArrays(
        person=cols["person"], n_people=people, day=cols["day"], recorded=cols["recorded"],
        victim=cols.get("victim"), code=cols["code"], code_harm=days, code_domains=masks,
        row_flags=cols["flags"],
    )  # fmt: skip


def rerank(off: Any, model: str, threads: int) -> tuple[float, dict[str, Any], np.ndarray, np.ndarray]:
    """One full re-rank on the engine; seconds, summary, score per person, rank order."""
    from ranking_service.domain.catalog import resolve
    from ranking_service.domain.scoring import rank_order, score, top_bracket_size, top_contributions
    from ranking_service.synthetic import to_day

    params = resolve(model)
    key = np.arange(off.n_people)  # person codes are already in records-id order
    c0, t0 = time.process_time(), time.perf_counter()
    res = score(off, to_day(AS_OF), params, threads=threads)
    t_score = time.perf_counter() - t0
    order = rank_order(res.score, res.scored, res.components["harm"], key)
    t_rank = time.perf_counter() - t0 - t_score
    k = top_bracket_size(len(order), TOP_N, None)
    shown = np.zeros(off.n_people, dtype=bool)
    shown[order[:k]] = True
    rows, contrib = res.rows_of(shown)
    top = rows[top_contributions(off.person[rows], contrib, np.ones(len(rows), dtype=bool), 3)]
    elapsed = time.perf_counter() - t0
    return (
        elapsed,
        {
            "seconds": round(elapsed, 4),
            "cpu_s": round(time.process_time() - c0, 4),  # all threads: load-independent
            "score_s": round(t_score, 4),
            "rank_s": round(t_rank, 4),
            "people_scored": int(len(order)),
            "top_bracket": k,
            "breakdown_rows": int(len(top)),
        },
        res.score,
        order,
    )


def measure(rows: int) -> dict[str, Any]:
    from engines import agreement, duckdb_rank, polars_rank, postgres_rank
    from ranking_service.domain.catalog import resolve
    from ranking_service.domain.weights import load_edition
    from ranking_service.synthetic import CODES, to_day

    src = data_dir(rows)
    meta = json.loads((src / "meta.json").read_text())
    models = MODELS if rows <= BLOCK else (HEADLINE, "hh_recency_harm@1")
    need = [c for c in COLS if c != "victim" or "rfgv@1" in models]
    cols = {c: np.load(src / f"{c}.npy") for c in need}
    days = load_edition("cchi-2020").lookup(list(CODES))[0]
    off = _arrays(cols, meta["people"])
    repeats = max(1, int(os.environ.get("BENCH_REPEATS", "3")))
    out: dict[str, Any] = {
        "rows": rows,
        "people": meta["people"],
        "data_mb": round(sum(a.nbytes for a in cols.values()) / 2**20, 1),
        "rss_after_load_mb": round(peak_rss_mb(), 1),
        "engine": {},
    }
    mine: tuple[np.ndarray, np.ndarray] | None = None
    for model in models:
        for threads in (1, 2) if model == HEADLINE else (1,):
            times: list[float] = []
            summary: dict[str, Any] = {}
            for _ in range(repeats):
                sec, summary, sc, order = rerank(off, model, threads)
                times.append(sec)
            summary.update(seconds=round(float(np.median(times)), 4), best_s=round(min(times), 4))
            summary["rows_per_s"] = round(rows / summary["seconds"])
            out["engine"][f"{model} threads={threads}"] = summary
            if model == HEADLINE and threads == 1:
                mine = (sc, order)
    out["peak_rss_engine_mb"] = round(peak_rss_mb(), 1)
    head = [v["seconds"] for k, v in out["engine"].items() if k.startswith(HEADLINE)]
    out["engine_headline_s"] = min(head)
    assert mine is not None
    np.save(src / "headline-score.npy", mine[0])
    np.save(src / "headline-order.npy", mine[1])
    p, as_of = resolve(HEADLINE), to_day(AS_OF)
    others = {"polars": polars_rank, "duckdb": duckdb_rank}
    pg_url = os.environ.get("BENCH_PG_URL", os.environ.get("HHPU_TEST_PG_URL", ""))
    for name, fn in others.items():
        runs = [fn(cols, days, as_of, p) for _ in range(repeats)]
        sec = float(np.median([r["seconds"] for r in runs]))
        out[name] = {"seconds": round(sec, 4), **agreement(mine[0], mine[1], runs[-1])}
        out[name]["ratio_over_engine"] = round(sec / out["engine_headline_s"], 2)
        del runs
    if pg_url and rows <= int(os.environ.get("BENCH_PG_MAX_ROWS", str(BLOCK))):
        r = postgres_rank(cols, days, as_of, p, pg_url)
        out["postgres"] = {"seconds": round(r["seconds"], 3), "copy_s": r["copy_s"], **agreement(*mine, r)}
        out["postgres"]["ratio_over_engine"] = round(r["seconds"] / out["engine_headline_s"], 2)
    out["peak_rss_all_mb"] = round(peak_rss_mb(), 1)
    return out


def measure_shuffled(rows: int) -> dict[str, Any]:
    """The headline re-rank of the shuffled rows: grouping + re-rank, threads 1 and 2."""
    from ranking_service.domain.grouping import group_by_person

    src = shuffled_dir(rows)
    meta = json.loads((src / "meta.json").read_text())
    cols = {c: np.load(src / f"{c}.npy") for c in COLS[:-1]}
    off = _arrays(cols, meta["people"])
    repeats = max(1, int(os.environ.get("BENCH_REPEATS", "3")))
    out: dict[str, Any] = {"rows": rows, "people": meta["people"]}
    out["rss_after_load_mb"] = round(peak_rss_mb(), 1)
    buffer, last = None, None
    for threads in (1, 2):
        runs = []
        for _ in range(repeats):
            c0, t0 = time.process_time(), time.perf_counter()
            grouped, g = group_by_person(off, keep_order=False, threads=threads, buffer=buffer)
            t_group, c_group = time.perf_counter() - t0, time.process_time() - c0
            if buffer is None:  # the first call allocates (and faults in) the record buffer
                out["first_group_s"] = round(t_group, 4)
            buffer = g.records
            sec, summary, sc, order = rerank(grouped, HEADLINE, threads)
            summary.update(seconds=round(t_group + sec, 4), group_s=round(t_group, 4), rerank_s=round(sec, 4))
            summary.update(group_cpu_s=round(c_group, 4), cpu_s=round(c_group + summary["cpu_s"], 4))
            runs.append(summary)
            last = (sc, order)
        pick = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]  # the median run
        out[f"{HEADLINE} threads={threads}"] = {**pick, "best_s": min(r["seconds"] for r in runs)}
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    out["headline_s"] = min(v["seconds"] for k, v in out.items() if k.startswith(HEADLINE))
    assert last is not None
    want = data_dir(rows)
    if (want / "headline-score.npy").exists():
        ws, wo = np.load(want / "headline-score.npy"), np.load(want / "headline-order.npy")
        rel = np.abs(last[0] - ws) / np.maximum(1.0, np.abs(ws))
        same_people = len(last[1]) == len(wo) and bool(np.array_equal(np.sort(last[1]), np.sort(wo)))
        moved = np.flatnonzero(last[1] != wo) if same_people else np.zeros(0, dtype=np.intp)
        # positions holding other people: only people whose scores differ by a few ulps swap places
        gap = np.abs(ws[last[1][moved]] - ws[wo[moved]]) / np.maximum(1.0, np.abs(ws[wo[moved]]))
        out["vs_grouped_rows"] = {
            "max_rel_diff": float(rel.max()) if len(rel) else 0.0,
            "same_people": same_people,
            "same_rank_order": same_people and not len(moved),
            "rank_positions_differing": int(len(moved)),
            "largest_rel_gap_between_swapped": float(gap.max()) if len(gap) else 0.0,
        }
    return out


def main(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Every size in BENCH_SIZES; `env` overrides the environment for this call (and its children)."""
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        return _run_sizes()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _run_sizes() -> dict[str, Any]:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000000,60000000").split(",") if s]
    report: dict[str, Any] = {
        "benchmark": "ranking full re-rank: engine vs polars, duckdb, PostgreSQL (same rows, same run)",
        "headline_model": HEADLINE,
        "top_bracket": TOP_N,
        "sizes": [],
    }
    me = str(Path(__file__).resolve())
    for rows in sizes:
        if not (data_dir(rows) / "meta.json").exists():
            t0 = time.monotonic()
            subprocess.run([sys.executable, me, "--generate", str(rows)], check=True)
            print(f"generated {rows} rows in {time.monotonic() - t0:.0f} s", flush=True)
        cmd = [sys.executable, me, "--measure", str(rows)]
        res = subprocess.run(cmd, check=True, capture_output=True, text=True)
        step = json.loads(res.stdout.strip().splitlines()[-1])
        step["load_average"] = list(os.getloadavg())
        if os.environ.get("BENCH_SHUFFLED", "1") == "1":
            if not (shuffled_dir(rows) / "meta.json").exists():
                subprocess.run([sys.executable, me, "--shuffle", str(rows)], check=True)
            cmd = [sys.executable, me, "--measure-shuffled", str(rows)]
            res = subprocess.run(cmd, check=True, capture_output=True, text=True)
            step["shuffled"] = json.loads(res.stdout.strip().splitlines()[-1])
            step["shuffled"]["load_average"] = list(os.getloadavg())
        print(json.dumps(step, indent=1), flush=True)
        report["sizes"].append(step)
        write_result("ranking", report)
    return report


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--generate":
        generate(int(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(measure(int(sys.argv[2]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--shuffle":
        shuffle(int(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--measure-shuffled":
        print(json.dumps(measure_shuffled(int(sys.argv[2]))))
    else:
        main()
