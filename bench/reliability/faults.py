"""Distributed mode under faults: every service's API and consumer as processes, on a private Kafka
broker and a private PostgreSQL cluster (deploy/local scripts with their own port and data), the
gateway in front, a real Prometheus scraping them all.

While the load runs, one fault at a time: the broker SIGKILLed and restarted; each service's consumer
SIGKILLed, kept down HOLD_S and restarted; each service's API likewise; PostgreSQL restarted; a
poison message put on a topic (dead-lettered). For each fault: when it began, when the process was
back, how long until new effects flowed again (the first new inbox row of the affected consumers,
or the first 201 for an API), client errors in its window, and the alerts that fired.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from hhpu.distributed import Cluster, start_cluster
from hhpu.services import SERVICES
from hhpu.testing import create_agency
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
HOLD_S = float(os.environ.get("RELIABILITY_HOLD_S", "10"))  # how long a killed process stays down
GAP_S = float(os.environ.get("RELIABILITY_GAP_S", "8"))  # quiet time between faults


def sh(script: str, *args: str) -> None:
    subprocess.run(["bash", str(ROOT / "deploy/local" / script), *args], check=True, timeout=300)


def pg_url(db: str) -> str:
    return f"postgresql+psycopg://hhpu:hhpu@127.0.0.1:{os.environ['HHPU_PG_PORT']}/{db}"


def scalar(url: str, sql: str) -> int:
    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    finally:
        eng.dispose()


def inbox_count(url: str) -> int | None:
    try:
        return scalar(url, "SELECT count(*) FROM inbox")
    except Exception:
        return None


def first_growth(
    read: Callable[[], int | None], since: float, baseline: int | None, limit_s: float = 120
) -> float | None:
    """Seconds from `since` until `read()` exceeds `baseline` (None: it did not within `limit_s`)."""
    deadline = time.time() + limit_s
    base = baseline
    while time.time() < deadline:
        v = read()
        if v is not None and base is None:
            base = v
        elif v is not None and base is not None and v > base:
            return round(time.time() - since, 2)
        time.sleep(0.25)
    return None


@dataclass
class Fault:
    name: str
    began: float = 0.0
    back: float = 0.0  # the process (or broker, or database) ready again
    ended: float = 0.0
    recovery_s: dict[str, float | None] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


class DistributedRun:
    def __init__(self, work: Path, namespace: str) -> None:
        self.work = work
        self.ns = namespace
        self.dbs: dict[str, str] = {}
        self.cluster: Cluster | None = None

    def start(self) -> Cluster:
        sh("postgres.sh", "start")
        sh("kafka.sh", "start")
        for name in SERVICES:
            db = f"rel_{name.split('-')[0]}_{os.getpid()}"
            sh("postgres.sh", "dropdb", db)
            sh("postgres.sh", "createdb", db)
            self.dbs[name] = pg_url(db)
        self.cluster = start_cluster(
            workdir=self.work / "cluster",
            database_urls=self.dbs,
            kafka_bootstrap=f"127.0.0.1:{os.environ['HHPU_KAFKA_PORT']}",
            namespace=self.ns,
            # development mode: the gateway takes the development signer the suite's staff token uses
            extra_env={"HHPU_ENVIRONMENT": "development"},
        )
        return self.cluster

    def agency_key(self) -> str:
        assert self.cluster is not None
        with httpx.Client(base_url=self.cluster.gateway_url, timeout=60) as gw:
            _agency, key = create_agency(gw, "Reliability Partner", "probation")
        return key

    def targets(self) -> dict[str, list[str]]:
        c = self.cluster
        assert c is not None
        strip = lambda u: u.removeprefix("http://").removesuffix("/metrics")  # noqa: E731
        return {
            "hhpu-services": [strip(u) for u in c.service_urls.values()],
            "hhpu-consumers": [strip(u) for u in c.consumer_metrics_urls.values()],
            "hhpu-gateway": [strip(c.gateway_url)],
        }

    # -- faults ---------------------------------------------------------------------------------
    def _kill_restart(self, proc_name: str) -> tuple[float, float]:
        c = self.cluster
        assert c is not None
        proc = c.procs[proc_name]
        args = [str(a) for a in list(proc.args)[1:]]  # type: ignore[arg-type]
        began = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        time.sleep(HOLD_S)
        c._spawn(proc_name, args, c.envs[proc_name])
        if proc_name.endswith(".api"):
            ready_url = c.service_urls[proc_name.removesuffix(".api")] + "/readyz"
        else:  # a consumer process serves /metrics once it has started (imports, schema check)
            ready_url = c.consumer_metrics_urls[proc_name.removesuffix(".consumer")]
        deadline = time.time() + 180
        while time.time() < deadline:
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return began, time.time()

    def consumer_fault(self, service: str) -> Fault:
        """Recovery counts from the restarted process serving /metrics: its start-up (Python imports,
        schema check: tens of seconds on a loaded machine) is reported apart, as `back after`."""
        f = Fault(f"consumer SIGKILL: {service}")
        base = inbox_count(self.dbs[service])
        f.began, f.back = self._kill_restart(f"{service}.consumer")
        f.recovery_s[service] = first_growth(lambda: inbox_count(self.dbs[service]), f.back, base)
        f.ended = time.time()
        return f

    def api_fault(self, service: str, ok_after: Callable[[float], float | None]) -> Fault:
        f = Fault(f"API SIGKILL: {service}")
        f.began, f.back = self._kill_restart(f"{service}.api")
        deadline = time.time() + 60
        while (t := ok_after(f.back)) is None and time.time() < deadline:
            time.sleep(0.2)
        f.recovery_s["first 201 after ready"] = None if t is None else round(t - f.back, 2)
        f.ended = time.time()
        return f

    def _all_flow(self, f: Fault, bases: dict[str, int | None], limit_s: float = 180) -> None:
        """Seconds from `f.back` to each service's first new inbox row after `bases`, all watched at once."""
        waiting = dict(bases)
        deadline = time.time() + limit_s
        while waiting and time.time() < deadline:
            for s in list(waiting):
                v = inbox_count(self.dbs[s])
                if v is not None and waiting[s] is None:
                    waiting[s] = v
                elif v is not None and v > (waiting[s] or 0):
                    f.recovery_s[s] = round(time.time() - f.back, 2)
                    del waiting[s]
            time.sleep(0.25)
        for s in waiting:
            f.recovery_s[s] = None

    def broker_fault(self) -> Fault:
        f = Fault("broker SIGKILL")
        f.began = time.time()
        sh("kafka.sh", "kill9")
        time.sleep(2)
        sh("kafka.sh", "start")
        f.back = time.time()
        self._all_flow(f, dict.fromkeys(self.dbs))
        f.ended = time.time()
        return f

    def postgres_fault(self) -> Fault:
        f = Fault("PostgreSQL restart")
        f.began = time.time()
        sh("postgres.sh", "restart")
        f.back = time.time()
        self._all_flow(f, dict.fromkeys(self.dbs))
        f.ended = time.time()
        return f

    def poison_fault(self) -> Fault:
        """An unparseable message on the referral topic: the case-service's consumer dead-letters it."""
        from kafka import KafkaProducer

        f = Fault("poison message (dead-lettered)")
        f.began = time.time()
        p = KafkaProducer(bootstrap_servers=f"127.0.0.1:{os.environ['HHPU_KAFKA_PORT']}")
        p.send(self.ns + "hhpu.referral.events", key=b"poison", value=b"\x00 not an envelope").get(30)
        p.close()
        f.back = f.began
        time.sleep(GAP_S)
        f.ended = time.time()
        return f

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
        for url in self.dbs.values():
            sh("postgres.sh", "dropdb", url.rsplit("/", 1)[1])
