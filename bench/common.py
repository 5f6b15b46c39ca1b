"""Helpers shared by the benchmarks: percentiles and the results file (bench/results/<name>.json)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def pct(values: list[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of a list of milliseconds (nearest-rank)."""
    if not values:
        return {"n": 0}
    xs = sorted(values)

    def at(q: float) -> float:
        return round(xs[min(len(xs) - 1, max(0, int(round(q * len(xs))) - 1))], 3)

    return {
        "n": len(xs),
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "mean": round(sum(xs) / len(xs), 3),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    out = Path(os.environ.get("BENCH_RESULTS_DIR", str(RESULTS))) / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "load_average_before_write": list(os.getloadavg()),
        **data,
    }
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")
    return out


# The distributed cluster of the intake and pipeline benchmarks: the development signer (the admin
# token that makes the bench's agency) and no per-key rate limit at the gateway. The limit (50/s,
# burst 100 by default) is a force's policy per partner key, not a capacity: on a quiet machine the
# intake reached it and the benchmark measured the limiter (59.7 referrals/s in every round).
CLUSTER_ENV = {"HHPU_ENVIRONMENT": "development", "GATEWAY_RATE_LIMIT_PER_S": "0"}
