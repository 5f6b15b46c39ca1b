"""Single-process mode (`hhpu run`, the durable embedded log) under the same load, SIGKILLed twice.

The process is killed `kills` times, evenly through the load (twice: at a third and at two thirds)
and started again on the same data directory each time; clients retry through the outage with their
Idempotency-Keys. Afterwards the effects are counted in the services' SQLite files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from effects import audit_chains, by_window, count_effects, settle, verdict
from hhpu.distributed import free_port
from hhpu.testing import create_agency
from load import Load

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "intake"))
from measure import wait_ready  # noqa: E402


class SingleProcess:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = (data_dir.parent / "hhpu-run.log").open("ab")

    def start(self) -> float:
        env = {**os.environ, "HHPU_ENVIRONMENT": "development"}
        args = [
            sys.executable,
            "-m",
            "hhpu",
            "run",
            "--no-seed",
            "--data-dir",
            str(self.data_dir),
            "--port",
            str(self.port),
        ]
        self.proc = subprocess.Popen(
            args, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return float(wait_ready(self.url, self.proc, "hhpu run", 180))  # measure.py is not type-checked here

    def kill(self) -> float:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        return time.time()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def run_single(work: Path, total: int, clients: int, rate: float, kills: int = 2) -> dict[str, Any]:
    data = work / "single" / "demo"
    data.mkdir(parents=True, exist_ok=True)
    sp = SingleProcess(data)
    sp.start()
    run = f"S{int(time.time())}"
    faults: list[dict[str, Any]] = []
    try:
        with httpx.Client(base_url=sp.url, timeout=60) as gw:
            _agency, key = create_agency(gw, "Reliability Partner", "probation")
        load = Load(sp.url, key, run, total, clients, rate)
        load.start()
        for mark in [total * (k + 1) // (kills + 1) for k in range(kills)]:
            while len(load.stats.acknowledged) < mark and load.running():
                time.sleep(0.2)
            killed = sp.kill()
            back = sp.start()
            first_ok = None
            deadline = time.time() + 60
            while first_ok is None and time.time() < deadline:
                with load.stats.lock:
                    first_ok = next((t for t in load.stats.ok_times if t > back), None)
                time.sleep(0.2)
            after = None if first_ok is None else round(first_ok - back, 2)
            with load.stats.lock:
                errs = sum(
                    1 for t, _k in load.stats.error_times if killed - 1 <= t <= (first_ok or time.time())
                )
            faults.append(
                {
                    "fault": f"hhpu run SIGKILL at {mark} acknowledged",
                    "killed_at": killed,
                    "restart_to_ready_s": round(back - killed, 2),
                    "first_201_after_ready_s": after,
                    "recovery_s": {"first 201 after ready": after},
                    "client_errors_in_window": errs,
                }
            )
        load.join(1800)
        dbs = {
            name: f"sqlite:///{data}/{name}.db"
            for name in ("referral-api", "case-service", "meeting-service")
        }
        ids = set(load.stats.acknowledged.values())
        effects, drained_s = settle(lambda: count_effects(dbs, run), ids, 3600)
        starts = [0.0] + [f["killed_at"] for f in faults]
        names = ["before the first kill"] + [f["fault"] for f in faults]
        ends = starts[1:] + [float("inf")]
        per_window = by_window(
            load.stats.acknowledged_at, effects, list(zip(names, starts, ends, strict=True))
        )
        for f in faults:
            f["effects_of_referrals_acknowledged_in_window"] = per_window[f["fault"]]
        return {
            "mode": "single process (hhpu run, embedded log)",
            "referrals": total,
            "clients": clients,
            "rate_per_s": rate,
            "backlog_drained_s_after_load": drained_s,
            "faults": faults,
            "effects_before_the_first_kill": per_window["before the first kill"],
            "client_errors": dict(load.stats.errors),
            "given_up": len(load.stats.given_up),
            "verdict": verdict(load.stats.acknowledged, effects),
            "audit_chains": audit_chains(
                {name: f"sqlite:///{data}/{name}.db" for name in (*dbs, "ranking-service")}
            ),
        }
    finally:
        sp.stop()
