"""The re-rank benchmark runs at a small size and writes its numbers (no PostgreSQL here)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[4] / "bench" / "ranking" / "bench_rerank.py"


def test_bench_small(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_rerank_unit", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    report = bench.main(
        {
            "BENCH_SIZES": "20000",
            "BENCH_PG_URL": "",
            "BENCH_REPEATS": "1",
            "BENCH_RESULTS_DIR": str(tmp_path),
            "BENCH_DATA_DIR": str(tmp_path / "data"),
        }
    )
    saved = json.loads((tmp_path / "ranking.json").read_text())
    (step,) = saved["sizes"]
    assert step == report["sizes"][0]
    assert step["rows"] == 20000 and step["people"] == 2000 and "postgres" not in step
    assert {k.split()[0] for k in step["engine"]} == {
        "recency_harm@1",
        "total_harm@1",
        "hh_recency_harm@1",
        "rfgv@1",
    }
    assert step["engine"]["recency_harm@1 threads=1"]["top_bracket"] == 500
    for other in ("polars", "duckdb"):
        assert step[other]["same_people"] and step[other]["same_top100"]
        assert step[other]["max_rel_diff"] < 1e-9
    shuffled = step["shuffled"]  # the same rows in a random order, grouped by person, then re-ranked
    run = shuffled["recency_harm@1 threads=2"]
    assert abs(run["seconds"] - run["group_s"] - run["rerank_s"]) < 2e-4 and run["people_scored"] > 1000
    assert shuffled["vs_grouped_rows"]["max_rel_diff"] < 1e-12
    assert shuffled["vs_grouped_rows"]["same_rank_order"]
    assert shuffled["vs_grouped_rows"]["largest_rel_gap_between_swapped"] < 1e-12
    assert step["peak_rss_engine_mb"] > 10  # a Python process with numpy loaded, at the very least
