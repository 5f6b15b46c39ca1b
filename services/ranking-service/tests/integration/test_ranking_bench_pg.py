"""The re-rank benchmark at a small size with the PostgreSQL comparison, in the same run."""

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
    report = bench.main(
        {
            "BENCH_SIZES": "20000",
            "BENCH_PG_URL": pg_url,
            "BENCH_REPEATS": "1",
            "BENCH_RESULTS_DIR": str(tmp_path),
            "BENCH_DATA_DIR": str(tmp_path / "data"),
        }
    )
    (step,) = json.loads((tmp_path / "ranking.json").read_text())["sizes"]
    assert step == report["sizes"][0] and step["rows"] == 20000
    pg = step["postgres"]
    # PostgreSQL ranks the same people with the same scores as the engine ...
    assert pg["same_people"] and pg["same_top100"] and pg["max_rel_diff"] < 1e-9
    # ... and its ratio is its time over the engine's headline time, as reported.
    assert pg["seconds"] > 0
    assert pg["ratio_over_engine"] == pytest.approx(
        pg["seconds"] / step["engine_headline_s"], rel=0.05, abs=0.01
    )
