"""`make reliability`: the fault-injection suite, on distributed mode and on single-process mode.

Writes bench/results/reliability.json (see docs/reliability.md for what it promises and shows).
Environment: RELIABILITY_REFERRALS (2000), RELIABILITY_CLIENTS (16), RELIABILITY_RATE (referrals/s in
all, 0 = unpaced), RELIABILITY_SINGLE_REFERRALS, RELIABILITY_MODES (distributed,single),
RELIABILITY_FAULTS (all: broker,consumer,api,postgres,poison); the private Kafka and PostgreSQL
come from HHPU_RUN_DIR, HHPU_KAFKA_PORT, HHPU_KAFKA_CONTROLLER_PORT, HHPU_PG_CLUSTER and
HHPU_PG_PORT (the Makefile target sets them away from the shared instances).
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

from effects import by_window, count_effects, settle, verdict  # type: ignore[import-not-found]  # noqa: E402
from faults import GAP_S, DistributedRun, Fault  # type: ignore[import-not-found]  # noqa: E402
from load import Load  # type: ignore[import-not-found]  # noqa: E402
from monitor import TIME_SCALE, Prometheus  # type: ignore[import-not-found]  # noqa: E402
from single import run_single  # type: ignore[import-not-found]  # noqa: E402

ROOT = HERE.parents[1]
RESULTS = Path(os.environ.get("RELIABILITY_RESULTS", ROOT / "bench/results/reliability.json"))


def _errors_between(load: Load, start: float, end: float) -> dict[str, int]:
    out: dict[str, int] = {}
    with load.stats.lock:
        for t, kind in load.stats.error_times:
            if start <= t <= end:
                out[kind] = out.get(kind, 0) + 1
    return out


def _first_ok_after(load: Load) -> Any:
    def find(since: float) -> float | None:
        with load.stats.lock:
            return next((t for t in load.stats.ok_times if t > since), None)

    return find


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
        load.until = threading.Event()  # the load lasts until the last fault is over
        load.start()
        time.sleep(GAP_S)
        plan = [("broker", None)] + [("consumer", s) for s in SERVICES] + [("api", s) for s in SERVICES]
        plan += [("postgres", None), ("poison", None)]
        only = [k for k in os.environ.get("RELIABILITY_FAULTS", "").split(",") if k]
        if only:  # a focused run: only these kinds of fault (broker, consumer, api, postgres, poison)
            plan = [(k, s) for k, s in plan if k in only]
        for kind, service in plan:
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
                f = d.api_fault(service, _first_ok_after(load))
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
        time.sleep(60)  # the compressed alert windows pass: what fired can resolve
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
                    "recovery_s": f.recovery_s,
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
            "dashboard_queries": prom.dashboard_queries(),
            "client_errors": dict(load.stats.errors),
            "given_up": len(load.stats.given_up),
            "verdict": verdict(load.stats.acknowledged, effects),
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
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    report: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "time_scale_of_alert_rules": TIME_SCALE,
    }
    if "distributed" in modes:
        report["distributed"] = run_distributed(work, total, clients, rate)
    if "single" in modes:
        report["single"] = run_single(work, single_total, clients, rate)
    report["duration_s"] = round(time.time() - t0, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
    bad = 0
    for mode in ("distributed", "single"):
        if mode in report:
            v = report[mode]["verdict"]
            print(
                f"{mode}: {v['referrals_acknowledged']} acknowledged, "
                f"lost {v['lost_total']}, duplicated {v['duplicated_total']}"
            )
            bad += v["lost_total"] + v["duplicated_total"] + report[mode]["given_up"]
    print(f"results in {RESULTS} ({report['duration_s']} s)")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
