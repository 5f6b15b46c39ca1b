"""The re-rank benchmark at a small size with the PostgreSQL GROUP BY comparison."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[4] / "bench" / "ranking" / "bench_rerank.py"


@pytest.mark.postgres
def test_bench_small_with_postgres(pg_url: str, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_rerank_pg", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "ranking.json"
    report = bench.main(
        {"BENCH_PEOPLE": "3000", "BENCH_OFFENCES": "30000", "BENCH_PG_URL": pg_url, "BENCH_RESULTS": str(out)}
    )
    pg = report["postgres_groupby"]
    assert pg["same_people"] and pg["top100_same_scores"] and pg["max_rel_diff"] < 1e-9
    assert pg["people"] == report["models"]["recency_harm@1"]["people_scored"]
    # The ratio is the PostgreSQL query time over the in-process headline time, as reported.
    assert pg["query_s"] > 0
    assert pg["ratio_pg_over_numpy"] == pytest.approx(pg["query_s"] / report["compute_s"], rel=0.05, abs=0.01)
    assert json.loads(out.read_text())["offences"] == 30000
