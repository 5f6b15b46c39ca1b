"""Intake through the gateway in distributed mode against the minimal-insert ceiling, same run.

Starts the system with hhpu.distributed.start_cluster on the running Kafka broker and PostgreSQL
(fresh databases, a unique topic namespace), registers a partner agency, and serves the ceiling
(ceiling_app.py: FastAPI + psycopg inserting the same JSON) with uvicorn. wrk (one thread,
INTAKE_CONNECTIONS connections) posts unique referrals (intake.lua) to each, interleaved over
INTAKE_ROUNDS rounds of INTAKE_SECONDS; the medians are reported with the ratio intake / ceiling,
and the CPU milliseconds per request of each cluster process and of the ceiling (from /proc).
Then the referral-api is restarted under pyinstrument for one more round and its profile saved.

Env: HHPU_TEST_PG_URL (admin URL), HHPU_TEST_KAFKA (bootstrap), INTAKE_CONNECTIONS (16),
INTAKE_SECONDS (10), INTAKE_ROUNDS (2), INTAKE_PROFILE (1).
Run: .venv/bin/python bench/intake/bench_intake.py  ->  bench/results/intake.json
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from statistics import median
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))

from common import CLUSTER_ENV, write_result  # noqa: E402

sys.path.insert(0, str(HERE))
from measure import cpu_snapshot, cpu_spent_ms  # noqa: E402


def wrk(url: str, key: str, run: str, seconds: int, conns: int) -> dict[str, Any]:
    env = {**os.environ, "INTAKE_RUN": run, "INTAKE_KEY": key}
    cmd = [
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(HERE / "intake.lua"),
        url,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    line = [x for x in out.stdout.splitlines() if x.startswith("{")][-1]
    r = json.loads(line)
    secs = r["duration_us"] / 1e6
    ok = r["requests"] - r["non_2xx"]
    return {
        "requests": r["requests"],
        "ok_per_s": round(ok / secs, 1),
        "p50_ms": r["p50_us"] / 1000,
        "p95_ms": r["p95_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "non_2xx": r["non_2xx"],
        "socket_errors": r["socket_errors"],
        "stderr": out.stderr[-500:],
    }


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_tcp(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listening on {port}")


def _profile(cluster: Any, key: str, run: str, seconds: int, conns: int, out: Path) -> dict[str, Any]:
    """Restart the referral-api under pyinstrument on the same port, load it, stop it: the profile."""
    name = "referral-api.api"
    proc = cluster.procs[name]
    args = [str(a) for a in list(proc.args)[1:]]
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    cluster._spawn(name, ["-m", "pyinstrument", "-r", "text", "-o", str(out), *args], cluster.envs[name])
    url = cluster.service_urls["referral-api"]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    r = wrk(cluster.gateway_url, key, run, seconds, conns)
    cluster.procs[name].send_signal(signal.SIGINT)
    cluster.procs[name].wait(60)
    text = out.read_text(errors="replace") if out.exists() else ""
    return {"under_profiler": r, "profile_file": str(out), "profile_head": text.splitlines()[:60]}


def main() -> dict[str, Any]:
    from hhpu.distributed import start_cluster
    from hhpu.services import SERVICES
    from hhpu.testing import create_agency
    from hhpu_shared.testing.plugin import create_pg_database, drop_pg_database, unique

    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    admin = os.environ["HHPU_TEST_PG_URL"]
    kafka = os.environ.get("HHPU_TEST_KAFKA", "127.0.0.1:19092")
    conns = int(os.environ.get("INTAKE_CONNECTIONS", "16"))
    seconds = int(os.environ.get("INTAKE_SECONDS", "10"))
    rounds = int(os.environ.get("INTAKE_ROUNDS", "2"))
    work = ROOT / ".run" / "bench-intake" / time.strftime("%Y%m%d-%H%M%S")
    dbs = {name: create_pg_database(admin, "bi_" + name.split("-")[0]) for name in SERVICES}
    ceiling_db = create_pg_database(admin, "bi_ceiling")
    cluster = None
    ceiling = None
    report: dict[str, Any] = {"connections": conns, "seconds_per_round": seconds, "rounds": rounds}
    try:
        cluster = start_cluster(
            workdir=work / "cluster",
            database_urls=dbs,
            kafka_bootstrap=kafka,
            namespace=unique("bintake") + ".",
            extra_env=CLUSTER_ENV,
        )
        with httpx.Client(base_url=cluster.gateway_url, timeout=60) as gw:
            _agency, key = create_agency(gw, "Bench Partner", "probation")
        cport = _port()
        ceiling = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "ceiling_app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(cport), "--log-level", "warning", "--no-access-log"],
            cwd=HERE, env={**os.environ, "CEILING_DB_URL": ceiling_db},
            stdout=open(work / "ceiling.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        _wait_tcp(cport)
        curl = f"http://127.0.0.1:{cport}"
        tag = unique("I")
        wrk(curl, "", f"{tag}w0", 2, conns)  # warm both up
        wrk(cluster.gateway_url, key, f"{tag}w1", 3, conns)
        runs: dict[str, list[dict[str, Any]]] = {"ceiling": [], "intake": []}
        procs = {name: p.pid for name, p in cluster.procs.items()}
        cluster_cpu0 = cpu_snapshot(procs, infra=False)
        ceiling_cpu = 0.0
        for i in range(rounds):
            c0 = cpu_snapshot({"ceiling": ceiling.pid}, infra=False)
            runs["ceiling"].append(wrk(curl, "", f"{tag}c{i}", seconds, conns))
            ceiling_cpu += cpu_snapshot({"ceiling": ceiling.pid}, infra=False)["ceiling"] - c0["ceiling"]
            runs["intake"].append(wrk(cluster.gateway_url, key, f"{tag}i{i}", seconds, conns))
        # CPU per request: the cluster's processes over all rounds (the ceiling's included, so the
        # consumers' backlog is mostly counted) per referral acknowledged; the ceiling over its own.
        intake_ok = sum(r["requests"] - r["non_2xx"] for r in runs["intake"])
        ceiling_ok = sum(r["requests"] - r["non_2xx"] for r in runs["ceiling"])
        report["cpu_ms_per_request"] = {
            "intake_by_process": cpu_spent_ms(cluster_cpu0, cpu_snapshot(procs, infra=False), intake_ok),
            "ceiling": round(ceiling_cpu * 1000 / max(ceiling_ok, 1), 1),
        }
        for name, rs in runs.items():
            report[name] = {
                k: median(r[k] for r in rs) for k in ("ok_per_s", "p50_ms", "p95_ms", "p99_ms")
            } | {"rounds": rs}
        report["ratio_intake_over_ceiling"] = round(
            report["intake"]["ok_per_s"] / report["ceiling"]["ok_per_s"], 3
        )
        report["goal"] = {
            "ratio_at_least": 0.25,
            "p99_ms_under": 100,
            "met": report["ratio_intake_over_ceiling"] >= 0.25 and report["intake"]["p99_ms"] < 100,
        }
        report["load_average"] = list(os.getloadavg())
        write_result("intake", report)
        if os.environ.get("INTAKE_PROFILE", "1") == "1":
            prof = work / "referral-api-profile.txt"
            report["profile"] = _profile(cluster, key, f"{tag}p", seconds, conns, prof)
            write_result("intake", report)
    finally:
        if ceiling is not None:
            ceiling.send_signal(signal.SIGTERM)
            ceiling.wait(20)
        if cluster is not None:
            cluster.stop()
        for url in [*dbs.values(), ceiling_db]:
            drop_pg_database(admin, url)
    return report


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
