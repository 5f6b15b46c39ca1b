"""Run every benchmark (bench/*/bench_*.py) in its own process; each writes bench/results/<name>.json.

Numbers on these 2-core machines are noisy: each benchmark reports ratios measured in the same
run (gateway vs direct vs nginx; numpy re-rank vs PostgreSQL GROUP BY), which travel better than
absolute figures.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failures = 0
    for script in sorted(HERE.glob("*/bench_*.py")):
        print(f"== {script.relative_to(HERE.parent)}", flush=True)
        t0 = time.monotonic()
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"   exit {rc} after {time.monotonic() - t0:.1f} s", flush=True)
        failures += rc != 0
    print(f"results in {HERE / 'results'}")
    subprocess.call([sys.executable, str(HERE / "report.py")], cwd=HERE.parent)  # docs/benchmarks.md table
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
