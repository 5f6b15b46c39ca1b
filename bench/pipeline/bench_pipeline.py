"""Event latency through the pipeline in distributed mode: referral intake (201) -> suitability
assessment (case-service) -> agenda item (meeting-service), at offered rates of 5, 20, 50 and 100
referrals/s, then a backfill (as fast as the clients go).

The cluster runs on the running broker and PostgreSQL (fresh databases, a unique topic namespace).
Each step posts `rate x PIPE_STEP_S` unique referrals through the gateway (bench/reliability/load.py,
paced), waits until every referral has its agenda item (bounded), and reads the latencies from the
services' own timestamps (one clock): referral `submitted_at` -> assessment trigger `received_at`
-> agenda item `created_at`. The sustained rate of a step is referrals reaching the agenda per second
from the first submission to the last agenda item.

Env: HHPU_TEST_PG_URL, HHPU_TEST_KAFKA, PIPE_RATES (5,20,50,100), PIPE_STEP_S (20), PIPE_BACKFILL
(1000; the 100,000 figure is extrapolated from it and says so), PIPE_CLIENTS (32), PIPE_SETTLE_S (240).
Run: .venv/bin/python bench/pipeline/bench_pipeline.py  ->  bench/results/pipeline.json
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "reliability"))
sys.path.insert(0, str(HERE.parent / "intake"))

from common import CLUSTER_ENV, pct, write_result  # noqa: E402
from load import Load  # noqa: E402
from measure import cpu_snapshot, cpu_spent_ms  # noqa: E402


def _rows(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    eng = create_engine(url)
    try:
        with eng.connect() as c:
            return [tuple(r) for r in c.execute(text(sql), params)]
    finally:
        eng.dispose()


def timestamps(dbs: dict[str, str], run: str) -> dict[str, list[Any]]:
    """referral id -> [submitted_at, assessment trigger received_at, agenda item created_at]."""
    out: dict[str, list[Any]] = {
        rid: [sub, None, None]
        for rid, sub in _rows(
            dbs["referral-api"],
            "SELECT id, submitted_at FROM ref_referral WHERE partner_reference LIKE :p",
            p=f"{run}-%",
        )
    }
    by_assessment: dict[str, str] = {}
    for ref, aid, at in _rows(
        dbs["case-service"],
        "SELECT ref, assessment_id, received_at FROM case_assessment_trigger WHERE source = 'referral'",
    ):
        if ref in out:
            out[ref][1] = at
            by_assessment[aid] = ref
    for aid, at in _rows(
        dbs["meeting-service"],
        "SELECT assessment_id, min(created_at) FROM mtg_agenda_item WHERE assessment_id IS NOT NULL"
        " GROUP BY assessment_id",
    ):
        if aid in by_assessment:
            out[by_assessment[aid]][2] = at
    return out


def held_for_review(dbs: dict[str, str], run: str) -> int:
    """The run's referrals graded a possible or probable match of an earlier subject: they wait for a
    reviewer (by design) and never reach the agenda, so the step does not wait for them."""
    rows = _rows(
        dbs["referral-api"],
        "SELECT count(DISTINCT r.id) FROM ref_referral r JOIN ref_match_review m ON m.referral_id = r.id"
        " WHERE r.partner_reference LIKE :p AND m.status = 'pending'",
        p=f"{run}-%",
    )
    return int(rows[0][0])


def step(
    url: str, key: str, dbs: dict[str, str], run: str, total: int, rate: float, procs: dict[str, int]
) -> dict[str, Any]:
    """Offer `total` referrals at `rate` per second (0: as fast as the clients go), wait until every
    acknowledged one is on the agenda or held for a match review; latencies, rates and the CPU each
    process (the cluster's, PostgreSQL's, the broker's) spent per acknowledged referral."""
    clients = int(os.environ.get("PIPE_CLIENTS", "32"))
    load = Load(url, key, run, total, clients, rate)
    cpu0 = cpu_snapshot(procs)
    own0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    load.start()
    load.join(3600)
    post_s = time.monotonic() - t0
    own1 = resource.getrusage(resource.RUSAGE_SELF)
    acked = len(load.stats.acknowledged)
    load_cpu_s = (own1.ru_utime - own0.ru_utime) + (own1.ru_stime - own0.ru_stime)
    deadline = time.monotonic() + float(os.environ.get("PIPE_SETTLE_S", "240"))
    ts, held = timestamps(dbs, run), held_for_review(dbs, run)
    while time.monotonic() < deadline and sum(1 for v in ts.values() if v[2] is not None) + held < acked:
        time.sleep(1.0)
        ts, held = timestamps(dbs, run), held_for_review(dbs, run)
    cpu = cpu_spent_ms(cpu0, cpu_snapshot(procs), acked)
    done = [v for v in ts.values() if v[2] is not None]
    first = min((v[0] for v in ts.values()), default=None)
    last = max((v[2] for v in done), default=None)
    span = (last - first).total_seconds() if first and last else 0.0
    return {
        "offered_per_s": rate or None,
        "referrals": total,
        "acknowledged": acked,
        "client_errors": dict(load.stats.errors),
        "intake_per_s": round(acked / post_s, 2) if post_s else None,
        "reached_assessment": sum(1 for v in ts.values() if v[1] is not None),
        "reached_agenda": len(done),
        "held_for_match_review": held,
        "to_assessment_ms": pct([(v[1] - v[0]).total_seconds() * 1000 for v in ts.values() if v[1]]),
        "to_agenda_ms": pct([(v[2] - v[0]).total_seconds() * 1000 for v in done]),
        "sustained_per_s": round(len(done) / span, 2) if span else None,
        "span_s": round(span, 1),
        "cpu_ms_per_referral": cpu,
        # the load generator (this process, on the same two cores): not the system's, but it competes
        "load_generator_cpu_ms_per_referral": round(load_cpu_s * 1000 / max(acked, 1), 2),
    }


def main() -> dict[str, Any]:
    from hhpu.distributed import start_cluster
    from hhpu.services import SERVICES
    from hhpu.testing import create_agency
    from hhpu_shared.testing.plugin import create_pg_database, drop_pg_database, unique

    admin = os.environ["HHPU_TEST_PG_URL"]
    kafka = os.environ.get("HHPU_TEST_KAFKA", "127.0.0.1:19092")
    rates = [float(r) for r in os.environ.get("PIPE_RATES", "5,20,50,100").split(",") if r]
    step_s = float(os.environ.get("PIPE_STEP_S", "20"))
    backfill = int(os.environ.get("PIPE_BACKFILL", "1000"))
    work = ROOT / ".run" / "bench-pipeline" / time.strftime("%Y%m%d-%H%M%S")
    dbs = {name: create_pg_database(admin, "bp_" + name.split("-")[0]) for name in SERVICES}
    cluster = None
    report: dict[str, Any] = {"steps": [], "step_seconds": step_s}
    try:
        cluster = start_cluster(
            workdir=work / "cluster", database_urls=dbs, kafka_bootstrap=kafka,
            namespace=unique("bpipe") + ".", extra_env=CLUSTER_ENV,
        )  # fmt: skip
        with httpx.Client(base_url=cluster.gateway_url, timeout=60) as gw:
            _agency, key = create_agency(gw, "Pipeline Partner", "probation")
        tag = unique("P")
        procs = {name: p.pid for name, p in cluster.procs.items()}
        for i, rate in enumerate(rates):
            row = step(cluster.gateway_url, key, dbs, f"{tag}r{i}", max(1, int(rate * step_s)), rate, procs)
            report["steps"].append(row)
            print(json.dumps(row), flush=True)
            write_result("pipeline", report)
        if backfill:
            row = step(cluster.gateway_url, key, dbs, f"{tag}b", backfill, 0.0, procs)
            row["extrapolated_100k_s"] = (
                round(row["span_s"] * 100_000 / backfill) if row["reached_agenda"] else None
            )
            report["backfill"] = row
            print(json.dumps(row), flush=True)
        sustained = [s["sustained_per_s"] or 0 for s in report["steps"]]
        report["sustained_max_per_s"] = max(sustained, default=0)
        at100 = next((s for s in report["steps"] if s["offered_per_s"] == 100), None)
        report["goal"] = {
            "sustains_100_per_s_with_agenda_p95_under_500_ms": bool(
                at100
                and at100["reached_agenda"] + at100["held_for_match_review"] == at100["referrals"]
                and (at100["sustained_per_s"] or 0) >= 95
                and at100["to_agenda_ms"].get("p95", 1e9) < 500
            )
        }
        report["load_average"] = list(os.getloadavg())
        write_result("pipeline", report)
    finally:
        if cluster is not None:
            cluster.stop()
        for url in dbs.values():
            drop_pg_database(admin, url)
    return report


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
