"""`make reliability`: the fault-injection suite, on distributed mode and on single-process mode.

Writes bench/results/reliability.json (see docs/reliability.md for what it promises and shows).
Environment: RELIABILITY_REFERRALS (2000), RELIABILITY_CLIENTS (16), RELIABILITY_RATE (referrals/s in
all, 0 = unpaced), RELIABILITY_SINGLE_REFERRALS, RELIABILITY_SINGLE_KILLS (2), RELIABILITY_MODES
(distributed,single), RELIABILITY_FAULTS (all: broker,consumer,api,gateway,postgres,poison; a kind
may name one service, e.g. consumer:case-service), RELIABILITY_ALLOW_DIRTY (1: run from a dirty tree
anyway; the run then fails), RELIABILITY_RESULTS (where the JSON goes); the private Kafka and
PostgreSQL come from HHPU_RUN_DIR, HHPU_KAFKA_PORT, HHPU_KAFKA_CONTROLLER_PORT, HHPU_PG_CLUSTER and
HHPU_PG_PORT (the Makefile target sets them away from the shared instances).

Exit status 1 on any failure bench/reliability/checks.py finds, 2 when it refuses to run.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import provenance  # noqa: E402
from checks import failures  # noqa: E402
from effects import audit_chains, by_window, count_effects, settle, verdict  # noqa: E402
from faults import GAP_S, DistributedRun, Fault  # noqa: E402
from load import Load  # noqa: E402
from monitor import TIME_SCALE, Prometheus  # noqa: E402
from single import run_single  # noqa: E402

ROOT = HERE.parents[1]
RESULTS = Path(os.environ.get("RELIABILITY_RESULTS", ROOT / "bench/results/reliability.json"))


def _errors_between(load: Load, start: float, end: float) -> dict[str, int]:
    out: dict[str, int] = {}
    with load.stats.lock:
        for t, kind in load.stats.error_times:
            if start <= t <= end:
                out[kind] = out.get(kind, 0) + 1
    return out


def plan(services: list[str], only: str = "") -> list[tuple[str, str | None]]:
    """The faults in order; `only` ("kind" or "kind:service", comma-separated) keeps some of them."""
    every: list[tuple[str, str | None]] = [("broker", None)]
    every += [("consumer", s) for s in services] + [("api", s) for s in services]
    every += [("gateway", None), ("postgres", None), ("poison", None)]
    wanted = [w for w in only.split(",") if w]
    if not wanted:
        return every
    return [(k, s) for k, s in every if k in wanted or f"{k}:{s}" in wanted]


# After the load and the backlog: the compressed alert windows pass (the dead-letter alert's 15 min
# window is 45 s), so what fired can resolve.
RESOLVE_WAIT_S = float(os.environ.get("RELIABILITY_RESOLVE_WAIT_S", "75"))


def run_distributed(work: Path, total: int, clients: int, rate: float) -> dict[str, Any]:
    from hhpu.distributed import free_port
    from hhpu.services import SERVICES

    run = f"D{int(time.time())}"
    d = DistributedRun(work, f"rel{uuid.uuid4().hex[:8]}.")
    prom: Prometheus | None = None
    faults: list[Fault] = []
    try:
        cluster = d.start()
        prom = Prometheus(work, free_port(), d.targets())
        load = Load(cluster.gateway_url, d.agency_key(), run, total, clients, rate)
        d.check_routes()
        load.until = threading.Event()  # the load lasts until the last fault is over
        load.start()
        time.sleep(GAP_S)
        for kind, service in plan(list(SERVICES), os.environ.get("RELIABILITY_FAULTS", "")):
            if not load.running():
                print(
                    f"load finished before fault {kind} {service or ''}: more referrals or a lower rate",
                    flush=True,
                )
            if kind == "broker":
                f = d.broker_fault()
            elif kind == "consumer":
                f = d.consumer_fault(service)
            elif kind == "api":
                f = d.api_fault(service)
            elif kind == "gateway":
                f = d.api_fault("gateway")
            elif kind == "postgres":
                f = d.postgres_fault()
            else:
                f = d.poison_fault()
            print(f"{f.name}: back after {f.back - f.began:.1f}s, recovery {f.recovery_s}", flush=True)
            faults.append(f)
            time.sleep(GAP_S)
        load.until.set()
        load.join(3600)
        ids = set(load.stats.acknowledged.values())
        effects, drained_s = settle(lambda: count_effects(d.dbs, run), ids, 3600)
        time.sleep(RESOLVE_WAIT_S)
        firing_at_end = sorted(prom.firing_now())
        until = time.time()
        windows = [("before the first fault", 0.0, faults[0].began if faults else float("inf"))]
        windows += [
            (f.name, f.began, faults[i + 1].began if i + 1 < len(faults) else float("inf"))
            for i, f in enumerate(faults)
        ]
        per_window = by_window(load.stats.acknowledged_at, effects, windows)
        fault_rows = []
        for i, f in enumerate(faults):
            window_end = faults[i + 1].began if i + 1 < len(faults) else f.ended + GAP_S
            fault_rows.append(
                {
                    "fault": f.name,
                    "down_s": round(f.back - f.began, 2),
                    "ready": f.ready,
                    "recovery_s": f.recovery_s,
                    "expect_alerts": f.expect,
                    "effects_of_referrals_acknowledged_in_window": per_window[f.name],
                    "client_errors_in_window": _errors_between(load, f.began, window_end),
                    "alerts_fired": sorted(prom.firing_between(f.began, window_end)),
                    "alerts": prom.alert_spans(f.began, window_end, until),
                    "began_at": round(f.began, 1),
                    "back_at": round(f.back, 1),
                }
            )
        return {
            "mode": "distributed (processes, private Kafka broker and PostgreSQL)",
            "referrals": len(load.stats.acknowledged),
            "referrals_planned_at_least": total,
            "clients": clients,
            "rate_per_s": rate,
            "backlog_drained_s_after_load": drained_s,
            "faults": fault_rows,
            "effects_before_the_first_fault": per_window["before the first fault"],
            "alerts_firing_at_end": firing_at_end,
            "targets_up_at_end": prom.targets_up(),
            "targets_at_end": prom.target_health(),
            "processes": {name: d._instance(name) for name in sorted(cluster.procs)},
            "dashboard_queries": prom.dashboard_queries(),
            "client_errors": dict(load.stats.errors),
            "given_up": len(load.stats.given_up),
            "verdict": verdict(load.stats.acknowledged, effects),
            "audit_chains": audit_chains(d.dbs),
        }
    finally:
        if prom is not None:
            prom.stop()
        d.stop()


def main() -> int:
    total = int(os.environ.get("RELIABILITY_REFERRALS", "2000"))
    clients = int(os.environ.get("RELIABILITY_CLIENTS", "16"))
    rate = float(os.environ.get("RELIABILITY_RATE", "4"))  # 2,000 over ~8 min: the load spans every fault
    single_total = int(os.environ.get("RELIABILITY_SINGLE_REFERRALS", str(total)))
    modes = os.environ.get("RELIABILITY_MODES", "distributed,single").split(",")
    work = Path(os.environ.get("HHPU_RUN_DIR", ROOT / ".run/reliability")) / "work"
    source = provenance.at_start(ROOT)
    if (source["dirty"] or source["code_outside_tree"]) and os.environ.get("RELIABILITY_ALLOW_DIRTY") != "1":
        print(
            f"refusing to run: {ROOT} has uncommitted changes or its packages are imported from elsewhere "
            f"({', '.join(source['code_outside_tree']) or 'git status is not clean'}); the figures would "
            "belong to no commit. Run from a clean worktree at a fixed commit:\n"
            "  git worktree add ../hhpu-reliability <commit> && cd ../hhpu-reliability && make reliability\n"
            "(RELIABILITY_ALLOW_DIRTY=1 runs anyway, and the run then fails)",
            file=sys.stderr,
        )
        return 2
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    report: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()},
        "time_scale_of_alert_rules": TIME_SCALE,
    }
    if "distributed" in modes:
        report["distributed"] = run_distributed(work, total, clients, rate)
    if "single" in modes:
        kills = int(os.environ.get("RELIABILITY_SINGLE_KILLS", "2"))
        report["single"] = run_single(work, single_total, clients, rate, kills)
    report["duration_s"] = round(time.time() - t0, 1)
    report["machine"]["load_average_at_end"] = os.getloadavg()
    report["source"] = provenance.at_end(ROOT, source)  # before the results file is written
    report["failures"] = failures(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
    for mode in ("distributed", "single"):
        if mode in report:
            v = report[mode]["verdict"]
            print(
                f"{mode}: {v['referrals_acknowledged']} acknowledged, "
                f"lost {v['lost_total']}, duplicated {v['duplicated_total']}"
            )
    for line in report["failures"]:
        print(f"FAILED: {line}")
    print(f"results in {RESULTS} ({report['duration_s']} s), commit {source['commit'][:12]}")
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
