"""Distributed mode under faults: every service's API and consumer as processes, on a private Kafka
broker and a private PostgreSQL cluster (deploy/local scripts with their own port and data), the
gateway in front, a real Prometheus scraping them all.

While the load runs, one fault at a time: the broker SIGKILLed and restarted; each service's consumer
SIGKILLed, kept down CONSUMER_HOLD_S and restarted; each service's API and the gateway likewise
(HOLD_S); PostgreSQL restarted; a poison message put on a topic (dead-lettered). For each fault: when
it began, when the process was back (and whether it was ready within READY_S), how long until new
effects flowed again (the first new inbox row of the affected consumers, counted from a baseline read
after the kill; for an API, the first 200 on one of that service's own routes through the gateway),
client errors in its window, the alerts that fired and the alerts that must fire (`expect`).
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
# A killed consumer stays down longer: the broker drops the dead member after its 6 s session, the
# API process reads the group's lag every 2 s, and HHPUConsumerGroupDown's `for:` (2 min, 6 s
# compressed) must pass before the restarted consumer joins again.
CONSUMER_HOLD_S = float(os.environ.get("RELIABILITY_CONSUMER_HOLD_S", "25"))
GAP_S = float(os.environ.get("RELIABILITY_GAP_S", "8"))  # quiet time between faults
READY_S = float(os.environ.get("RELIABILITY_READY_S", "180"))  # a restarted process must be ready by then
RECOVERY_S = 120.0  # new effects (or a 200 on the service's route) must come by then after ready

# One cheap read per service through the gateway (agency key for the referral-api, analyst otherwise):
# an API is back when its own route answers 200 through the gateway, not when another service's does.
ROUTES = {
    "referral-api": "/api/v1/referrals",
    "ranking-service": "/api/v1/weight-editions",
    "case-service": "/api/v1/intervention-types",
    "meeting-service": "/api/v1/meeting-types",
    "gateway": "/api/v1/referrals",
}


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
    ready: bool = True  # False: the restarted process was not ready within READY_S
    recovery_s: dict[str, float | None] = field(default_factory=dict)
    # alerts that must fire in the fault's window and resolve after it: {"alert": ..., "on": ...}
    # (`on`: the instance, or the service for an alert aggregated by service)
    expect: list[dict[str, str]] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)


def first_ok(get: Callable[[], int | None], since: float, limit_s: float = RECOVERY_S) -> float | None:
    """Seconds from `since` until `get()` answers 200 (None: not within `limit_s`)."""
    deadline = time.time() + limit_s
    while time.time() < deadline:
        if get() == 200:
            return round(time.time() - since, 2)
        time.sleep(0.2)
    return None


class DistributedRun:
    def __init__(self, work: Path, namespace: str) -> None:
        self.work = work
        self.ns = namespace
        self.dbs: dict[str, str] = {}
        self.cluster: Cluster | None = None
        self.key = ""

    def start(self) -> Cluster:
        from sweep import claim

        sh("postgres.sh", "start")
        claim(os.environ.get("HHPU_PG_CLUSTER", "hhpu_reliability"), os.getpid())  # see sweep.py
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
            # development mode: the gateway takes the development signer the suite's staff token uses;
            # each API reads its consumer groups' lag from the broker every 2 s (compressed time)
            extra_env={"HHPU_ENVIRONMENT": "development", "HHPU_KAFKA_LAG_INTERVAL_S": "2"},
        )
        return self.cluster

    def agency_key(self) -> str:
        assert self.cluster is not None
        with httpx.Client(base_url=self.cluster.gateway_url, timeout=60) as gw:
            _agency, key = create_agency(gw, "Reliability Partner", "probation")
        self.key = key
        return key

    def route_status(self, service: str) -> int | None:
        """The status of `service`'s own read route through the gateway (None: no answer)."""
        assert self.cluster is not None
        from hhpu.testing import bearer

        headers = {"X-API-Key": self.key} if service in ("referral-api", "gateway") else bearer("analyst")
        try:
            return httpx.get(
                self.cluster.gateway_url + ROUTES[service], headers=headers, timeout=5
            ).status_code
        except httpx.HTTPError:
            return None

    def check_routes(self) -> None:
        """Every service's probe route answers 200 before any fault (else its recovery means nothing)."""
        for service in ROUTES:
            status = self.route_status(service)
            if status != 200:
                raise RuntimeError(f"{service}: GET {ROUTES[service]} through the gateway answered {status}")

    def targets(self) -> dict[str, list[str]]:
        c = self.cluster
        assert c is not None

        def strip(u: str) -> str:
            return u.removeprefix("http://").removesuffix("/metrics")

        return {
            "hhpu-services": [strip(u) for u in c.service_urls.values()],
            "hhpu-consumers": [strip(u) for u in c.consumer_metrics_urls.values()],
            "hhpu-gateway": [strip(c.gateway_url)],
        }

    # -- faults ---------------------------------------------------------------------------------
    def _instance(self, proc_name: str) -> str:
        c = self.cluster
        assert c is not None
        if proc_name == "gateway":
            url = c.gateway_url
        elif proc_name.endswith(".api"):
            url = c.service_urls[proc_name.removesuffix(".api")]
        else:
            url = c.consumer_metrics_urls[proc_name.removesuffix(".consumer")]
        return url.removeprefix("http://").removesuffix("/metrics")

    def _kill(self, proc_name: str) -> float:
        c = self.cluster
        assert c is not None
        began = time.time()
        c.procs[proc_name].send_signal(signal.SIGKILL)
        c.procs[proc_name].wait(30)
        return began

    def _restart(self, proc_name: str) -> tuple[float, bool]:
        """Start the killed process again with its command; (when it was ready, whether it was)."""
        c = self.cluster
        assert c is not None
        args = [str(a) for a in list(c.procs[proc_name].args)[1:]]  # type: ignore[arg-type]
        c._spawn(proc_name, args, c.envs[proc_name])
        if proc_name.endswith(".consumer"):  # serves /metrics once it has started (imports, schema check)
            ready_url = c.consumer_metrics_urls[proc_name.removesuffix(".consumer")]
        else:
            ready_url = "http://" + self._instance(proc_name) + "/readyz"
        deadline = time.time() + READY_S
        while time.time() < deadline:
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    return time.time(), True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return time.time(), False

    def consumer_fault(self, service: str) -> Fault:
        """Recovery counts from the restarted process serving /metrics: its start-up (Python imports,
        schema check: tens of seconds on a loaded machine) is reported apart, as `back after`."""
        f = Fault(f"consumer SIGKILL: {service}")
        name = f"{service}.consumer"
        f.expect = [
            {"alert": "HHPUTargetDown", "on": self._instance(name)},
            {"alert": "HHPUConsumerGroupDown", "on": service},
        ]
        f.began = self._kill(name)
        base = inbox_count(self.dbs[service])  # after the kill: nothing of this service's applies now
        time.sleep(CONSUMER_HOLD_S)
        f.back, f.ready = self._restart(name)
        f.recovery_s[service] = first_growth(lambda: inbox_count(self.dbs[service]), f.back, base, RECOVERY_S)
        f.ended = time.time()
        return f

    def api_fault(self, service: str) -> Fault:
        """The service's API (or the gateway) killed and restarted; recovery: its own route answers
        200 through the gateway."""
        f = Fault("gateway SIGKILL" if service == "gateway" else f"API SIGKILL: {service}")
        name = service if service == "gateway" else f"{service}.api"
        f.expect = [{"alert": "HHPUTargetDown", "on": self._instance(name)}]
        f.began = self._kill(name)
        time.sleep(HOLD_S)
        f.back, f.ready = self._restart(name)
        f.recovery_s[f"{ROUTES[service]} 200 after ready"] = first_ok(
            lambda: self.route_status(service), f.back
        )
        f.ended = time.time()
        return f

    def _all_flow(self, f: Fault, bases: dict[str, int | None], limit_s: float = RECOVERY_S) -> None:
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
        f.expect = [{"alert": "HHPUDeadLetteredEvents", "on": "*"}]  # whichever group reaches it first
        time.sleep(GAP_S)
        f.ended = time.time()
        return f

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
        for url in self.dbs.values():
            sh("postgres.sh", "dropdb", url.rsplit("/", 1)[1])
