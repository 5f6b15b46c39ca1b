"""CPU per referral of the referral-api's API process, as distributed mode runs it, and where it goes.

Starts the referral-api's API process alone, as ``hhpu.distributed`` does (uvicorn, one worker, a
fresh PostgreSQL database migrated by ``python -m referral_api migrate``, the real Kafka broker with a
unique topic namespace, the outbox relay on and polling as the launcher of the code measured sets it, besides
being woken by each commit), registers an agency,
then posts `--n` unique referrals, `--concurrency` at a time, each with a fresh identity assertion
bound to its request as the gateway mints it (so no gateway or key check is counted). It reads the
process's user + system CPU from /proc before and after (the relay's work included: the count waits
until the outbox is published) and reports milliseconds per referral, also net of the process's idle
CPU (relay polling, probes: measured for `--idle-s` first), and per thread (names from py-spy).
With ``--profile`` it then runs `--n` more referrals under ``py-spy record --threads --nonblocking
--gil`` (every thread, sampled while it holds the GIL: py-spy's idle detection counts threads waiting
on a condition or on PostgreSQL as running, which hid the work under 50% of waits) and reports the
share of samples in each part of the request (HTTP stack, identity, the intake, relay, Kafka
client...) plus the raw profile file (`api_prof_report.py` reads it again).

``--code DIR`` runs another checkout's sources (its ``shared/src`` and ``services/referral-api/src``
put first on PYTHONPATH), so main and a branch are measured by one harness in one run; ``--hide MOD``
makes importing MOD fail in the measured process (a dependency the other checkout does not have).

Run: HHPU_TEST_PG_URL=postgresql+psycopg://... HHPU_TEST_KAFKA=127.0.0.1:19092 \
     .venv/bin/python bench/intake/api_prof.py [--n 1000] [--concurrency 16] [--profile] [--code DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from statistics import quantiles
from typing import Any

import httpx
from hhpu_shared.auth import Principal, mint_identity
from hhpu_shared.settings import DEV_INTERNAL_SECRET
from hhpu_shared.testing.plugin import create_pg_database, drop_pg_database, unique
from referral_api.schemas import REFERRAL_EXAMPLE
from sqlalchemy import create_engine, text

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from api_prof_report import buckets_of, read_raw  # noqa: E402
from hhpu.distributed import api_command, free_port  # noqa: E402
from measure import (  # noqa: E402
    SPY,
    cpu_s,
    family_name,
    group_name,
    launcher_relay_interval,
    switches,
    thread_cpu_s,
    thread_names,
    wait_ready,
)

PATH = "/api/v1/referrals"
PENDING = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
GIVEN = ("Aled", "Bryn", "Cai", "Dafydd", "Emrys", "Ffion", "Gwyn", "Huw", "Idris", "Jory", "Kit", "Llew")


def referral(run: str, c: int) -> bytes:
    """The body intake.lua posts: its example referral with a unique reference and person."""
    subject = REFERRAL_EXAMPLE["subject"] | {
        "given_name": GIVEN[c % len(GIVEN)],
        "middle_names": None,
        "family_name": family_name(c * 7919),
        "date_of_birth": f"{1950 + c % 55:04d}-{1 + c % 12:02d}-{1 + c % 28:02d}",
    }
    return json.dumps(REFERRAL_EXAMPLE | {"partner_reference": f"{run}-{c:07d}", "subject": subject}).encode()


class Api:
    """The referral-api's API process on a private port, as hhpu.distributed starts it."""

    def __init__(
        self, code: Path | None, db_url: str, kafka: str, namespace: str, log: Path, hide: list[str]
    ) -> None:
        self.env = {
            **os.environ,
            "HHPU_TRANSPORT": "kafka",
            "HHPU_KAFKA_BOOTSTRAP": kafka,
            "HHPU_TOPIC_NAMESPACE": namespace,
            "HHPU_ENVIRONMENT": "test",
            "REFERRAL_RELAY_INTERVAL_S": launcher_relay_interval(code or ROOT),
            "REFERRAL_DATABASE_URL": db_url,
            "REFERRAL_TRANSPORT": "kafka",
        }
        paths: list[Path] = []
        if hide:  # modules the other checkout does not install: importing them fails, as there
            stubs = log.parent / "hidden"
            stubs.mkdir(exist_ok=True)
            for name in hide:
                (stubs / f"{name}.py").write_text(f"raise ImportError('{name} hidden by api_prof')\n")
            paths.append(stubs)
        if code is not None:
            paths += [code / "shared" / "src", code / "services" / "referral-api" / "src"]
        if paths:
            self.env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def migrate(self) -> None:
        r = subprocess.run(
            [sys.executable, "-m", "referral_api", "migrate"], env=self.env, capture_output=True, timeout=180
        )
        if r.returncode:
            raise RuntimeError(r.stdout.decode()[-2000:] + r.stderr.decode()[-2000:])

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, *api_command("referral_api", port)],
            env=self.env,
            stdout=open(self.log, "ab"),  # noqa: SIM115 - owned by the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_ready(self.url, self.proc, "the referral-api", 180, self.log)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def headers_for(principal: Principal, method: str, path: str) -> dict[str, str]:
    token = mint_identity(principal, DEV_INTERNAL_SECRET, ttl_s=60, method=method, path=path)
    return {"x-hhpu-identity": token, "x-request-id": uuid.uuid4().hex}


async def drive(url: str, principal: Principal, run: str, n: int, conc: int, first: int) -> dict[str, Any]:
    """`n` referrals, `conc` at a time; latencies and non-201 answers."""
    lat: list[float] = []
    bad: list[str] = []
    counter = iter(range(first, first + n))
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker() -> None:
            for c in counter:
                ref = f"{run}-{c:07d}"
                h = headers_for(principal, "POST", PATH) | {
                    "content-type": "application/json",
                    "idempotency-key": ref,
                }
                t0 = time.perf_counter()
                r = await client.post(PATH, content=referral(run, c), headers=h)
                lat.append(time.perf_counter() - t0)
                if r.status_code != 201:
                    bad.append(f"{r.status_code}: {r.text[:200]}")

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        wall = time.perf_counter() - t0
    q = quantiles(lat, n=100)
    return {
        "requests": n,
        "non_201": len(bad),
        "first_errors": bad[:3],
        "wall_s": round(wall, 2),
        "per_s": round(n / wall, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
    }


def pending(db_url: str) -> int:
    eng = create_engine(db_url)
    try:
        with eng.connect() as conn:
            return int(conn.execute(text(PENDING)).scalar() or 0)
    finally:
        eng.dispose()


def wait_published(db_url: str, timeout_s: float = 120) -> float:
    t0 = time.monotonic()
    while pending(db_url) and time.monotonic() - t0 < timeout_s:
        time.sleep(0.1)
    return time.monotonic() - t0


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    admin = os.environ["HHPU_TEST_PG_URL"]
    kafka = os.environ.get("HHPU_TEST_KAFKA", "127.0.0.1:19092")
    db_url = create_pg_database(admin, "api_prof")
    api = Api(args.code, db_url, kafka, unique("apiprof") + ".", work / "referral-api.log", args.hide)
    report: dict[str, Any] = {"code": str(args.code or ROOT), "n": args.n, "concurrency": args.concurrency}
    try:
        api.migrate()
        api.start()
        assert api.proc is not None
        pid = api.proc.pid
        admin_p = Principal(subject="user:bench-admin", kind="staff", roles=frozenset({"administrator"}))
        r = httpx.post(
            api.url + "/api/v1/agencies",
            json={"name": "Bench Partner", "agency_type": "probation", "contact_name": "Single point"},
            headers=headers_for(admin_p, "POST", "/api/v1/agencies") | {"x-justification": "bench set-up"},
            timeout=30,
        )
        r.raise_for_status()
        agency = r.json()["id"]
        partner = Principal(
            subject=f"agency:{agency}", kind="agency", roles=frozenset({"partner_agency"}), agency_id=agency
        )
        run = unique("P")
        asyncio.run(drive(api.url, partner, run, args.warmup, args.concurrency, 1))
        wait_published(db_url)
        # Idle: what the process spends doing nothing (relay polls, lag monitor, gauges).
        c0 = cpu_s(pid)
        time.sleep(args.idle_s)
        idle_ms_per_s = (cpu_s(pid) - c0) * 1000 / args.idle_s
        names = thread_names(pid)
        t0, c0, threads0 = time.monotonic(), cpu_s(pid), thread_cpu_s(pid)
        sys0, sw0 = cpu_s(pid, system_only=True), switches(pid)
        load = asyncio.run(drive(api.url, partner, run, args.n, args.concurrency, args.warmup + 1))
        drain_s = wait_published(db_url)
        elapsed, spent, threads1 = time.monotonic() - t0, cpu_s(pid) - c0, thread_cpu_s(pid)
        sys_spent, switched = cpu_s(pid, system_only=True) - sys0, switches(pid) - sw0
        ok = args.n - load["non_201"]
        names |= thread_names(pid)
        by_thread: dict[str, float] = {}
        for tid, s in threads1.items():
            name = group_name(names.get(tid, f"tid {tid}"))
            by_thread[name] = by_thread.get(name, 0.0) + (s - threads0.get(tid, 0.0)) * 1000 / max(ok, 1)
        report |= {
            "load": load,
            "drain_after_load_s": round(drain_s, 2),
            "idle_cpu_ms_per_s": round(idle_ms_per_s, 2),
            "cpu_ms_per_referral": round(spent * 1000 / max(ok, 1), 2),
            "cpu_ms_per_referral_net_of_idle": round(
                (spent - idle_ms_per_s * elapsed / 1000) * 1000 / max(ok, 1), 2
            ),
            "system_cpu_ms_per_referral": round(sys_spent * 1000 / max(ok, 1), 2),
            "context_switches_per_referral": round(switched / max(ok, 1), 1),
            "cpu_ms_per_referral_by_thread": {
                k: round(v, 2) for k, v in sorted(by_thread.items(), key=lambda kv: -kv[1]) if v >= 0.01
            },
            "load_average": list(os.getloadavg()),
        }
        if args.profile:
            out = work / f"py-spy-{args.label}.txt"
            spy = subprocess.Popen(
                [
                    SPY,
                    "record",
                    "--threads",
                    "--nonblocking",
                    *(["--gil"] if args.gil else []),
                    "-r",
                    str(args.rate),
                    "-f",
                    "raw",
                    "-o",
                    str(out),
                    "-p",
                    str(pid),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            time.sleep(1.5)
            first = args.warmup + args.n + 1
            report["under_profiler"] = asyncio.run(
                drive(api.url, partner, run, args.n, args.concurrency, first)
            )
            wait_published(db_url)
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
            if out.exists():
                stacks = read_raw(out)
                report["profile"] = {"file": str(out)} | buckets_of(stacks)
            else:
                report["profile"] = {"error": (spy.stderr.read() if spy.stderr else b"").decode()[-500:]}
    finally:
        api.stop()
        drop_pg_database(admin, db_url)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="referrals measured")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--idle-s", type=float, default=5.0)
    ap.add_argument("--code", type=Path, default=None, help="another checkout's sources (e.g. main's)")
    ap.add_argument("--label", default="branch")
    ap.add_argument(
        "--hide",
        action="append",
        default=[],
        help="a module the measured process must not import (e.g. crc32c, for main's dependencies)",
    )
    ap.add_argument("--profile", action="store_true", help="then profile every thread with py-spy")
    ap.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    ap.add_argument(
        "--all-threads",
        dest="gil",
        action="store_false",
        help="sample every thread py-spy sees as running, not only the one holding the GIL (py-spy's idle "
        "detection counts threads waiting on a condition or on PostgreSQL, so the GIL holder is the default)",
    )
    ap.add_argument("--out", type=Path, default=None, help="write the report (JSON) here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="api-prof-", dir=ROOT / ".run" if (ROOT / ".run").exists() else None))
    report = {"label": args.label} | measure(args, work)
    text_out = json.dumps(report, indent=1)
    if args.out:
        args.out.write_text(text_out + "\n")
    print(text_out)


if __name__ == "__main__":
    main()
