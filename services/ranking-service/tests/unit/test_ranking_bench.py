"""The re-rank benchmark runs at a small size and writes its numbers (no PostgreSQL here)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[4] / "bench" / "ranking" / "bench_rerank.py"


def test_bench_small(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("bench_rerank_unit", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "ranking.json"
    report = bench.main(
        {
            "BENCH_PEOPLE": "2000",
            "BENCH_OFFENCES": "20000",
            "BENCH_PG_URL": "",
            "BENCH_SERVICE_PATH": "1",
            "BENCH_REPEATS": "2",
            "BENCH_RESULTS": str(out),
        }
    )
    saved = json.loads(out.read_text())
    assert saved["people"] == 2000 and saved["offences"] == 20000 and saved["postgres_groupby"] is None
    assert set(saved["models"]) == {"recency_harm@1", "total_harm@1", "hh_recency_harm@1", "rfgv@1"}
    assert report["rows_per_s"] == pytest.approx(20000 / report["compute_s"], rel=0.01)
    assert report["peak_rss_mb"] > 10  # a Python process with numpy and pyarrow loaded, at the very least
    assert saved["models"]["recency_harm@1"]["top_bracket"] == 500
    assert set(saved["service_path"]) == {
        "build_string_table_s",
        "prepare_s",
        "score_and_rank_s",
        "fingerprint_s",
    }
