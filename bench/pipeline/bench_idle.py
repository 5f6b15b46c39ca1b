"""What the distributed cluster costs while nothing happens: CPU per second of each process at rest.

Starts the system as distributed mode runs it (``hhpu.distributed.start_cluster``: four services, an
API and a consumer process each, and the gateway) on the running Kafka broker and PostgreSQL, fresh
databases and a unique topic namespace, lets it settle for `--settle` seconds and then reads, over
`--seconds`, the user + system CPU of every process of the cluster from /proc, and of the broker and
of every PostgreSQL process (their backends do the queries the cluster sends at rest).

``--code DIR`` runs another checkout's services (its ``src`` directories first on PYTHONPATH, its
own migrations and its launcher's relay interval) under this checkout's launcher, so the code before
and after a change is measured by one harness; ``--rounds`` alternates the two (``--code`` given) or
repeats this checkout. The result: milliseconds of CPU per second per process and in total, median
over the rounds, and the ratio after / before.

Env: HHPU_TEST_PG_URL (admin URL), HHPU_TEST_KAFKA (bootstrap).
Run: .venv/bin/python bench/pipeline/bench_idle.py [--code DIR] [--rounds 2] [--seconds 20]
     ->  bench/results/idle.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "intake"))

from common import write_result  # noqa: E402
from measure import cpu_snapshot, cpu_spent_ms, launcher_relay_interval  # noqa: E402

SRC_DIRS = (
    "shared/src",
    "hhpu/src",
    "gateway/src",
    "services/referral-api/src",
    "services/ranking-service/src",
    "services/case-service/src",
    "services/meeting-service/src",
)


def measure(code: Path | None, settle_s: float, seconds: float) -> dict[str, Any]:
    from hhpu.distributed import start_cluster
    from hhpu.services import SERVICES
    from hhpu_shared.testing.plugin import create_pg_database, drop_pg_database, unique

    admin, kafka = os.environ["HHPU_TEST_PG_URL"], os.environ["HHPU_TEST_KAFKA"]
    checkout = code or ROOT
    interval = launcher_relay_interval(checkout)
    env = {f"{prefix}RELAY_INTERVAL_S": interval for _pkg, prefix in SERVICES.values()}
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(str(code / d) for d in SRC_DIRS)
    urls = {name: create_pg_database(admin, "idle") for name in SERVICES}
    work = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    try:
        ns = unique("idle") + "."
        cluster = start_cluster(
            workdir=work, database_urls=urls, kafka_bootstrap=kafka, namespace=ns, extra_env=env
        )
        try:
            time.sleep(settle_s)
            procs = {name: p.pid for name, p in cluster.procs.items()}
            before = cpu_snapshot(procs)
            time.sleep(seconds)
            spent = cpu_spent_ms(before, cpu_snapshot(procs), seconds)
        finally:
            cluster.stop()
    finally:
        for url in urls.values():
            drop_pg_database(admin, url)
    per = {name: spent[name] for name in procs if name in spent}
    return {
        "code": str(checkout),
        "relay_interval_s": float(interval),
        "cluster_ms_per_s": spent["total"],
        "postgres_ms_per_s": spent["postgres"],
        "broker_ms_per_s": spent["broker"],
        "per_process_ms_per_s": dict(sorted(per.items(), key=lambda kv: -kv[1])),
        "load_average": os.getloadavg(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--code", type=Path, default=None, help="another checkout (the 'before' side)")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--settle", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    sides: list[tuple[str, Path | None]] = [("after", None)]
    if args.code is not None:
        sides = [("before", args.code.resolve()), ("after", None)]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in sides}
    for _ in range(args.rounds):
        for label, code in sides:
            runs[label].append(measure(code, args.settle, args.seconds))
            last = runs[label][-1]
            print(label, last["cluster_ms_per_s"], last["postgres_ms_per_s"], flush=True)
    keys = ("cluster_ms_per_s", "postgres_ms_per_s", "broker_ms_per_s")
    med = {label: {k: round(median(r[k] for r in rs), 1) for k in keys} for label, rs in runs.items()}
    doc: dict[str, Any] = {"benchmark": "distributed cluster at rest", "seconds": args.seconds, "median": med}
    if "before" in med:
        doc["ratio_after_over_before"] = {
            k: round(med["after"][k] / med["before"][k], 3) if med["before"][k] else None for k in keys
        }
    doc["runs"] = runs
    print(write_result("idle", doc))


if __name__ == "__main__":
    main()
