"""Gateway benchmark: the same tiny FastAPI service measured directly, through our gateway and through nginx.

Everything binds 127.0.0.1 and is started here, one uvicorn worker each; nginx (Debian's) runs with its
own config, pid and temp dirs under a temporary directory and is stopped by PID, like every process here.
Load: `wrk` when installed (one thread), else a bounded aiohttp generator. Throughput under load at
concurrency C, and p50 latency with no load (one connection). Results: bench/results/gateway.json.

    .venv/bin/python bench/gateway/bench_gateway.py [--duration 8] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from hhpu.distributed import free_port

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PY = sys.executable
PATH = "/api/v1/referrals/r-123"


def wait_ready(url: str, timeout: float = 20.0, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready")


def start(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def nginx_config(tmp: Path, port: int, backend_port: int) -> Path:
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
        (tmp / d).mkdir(exist_ok=True)
    user = "user root root;" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(f"""{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream backend {{ server 127.0.0.1:{backend_port}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
""")
    return conf


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _UNITS[m.group(2)]


def run_wrk(url: str, conns: int, duration: float, headers: dict[str, str]) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "5s"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 30).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    if non2xx or errors:
        raise RuntimeError(f"errors during the run against {url}:\n{out}")
    count = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": count}


def cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and its direct children (nginx's worker)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    try:
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


async def _py_load(url: str, conns: int, duration: float, max_requests: int, headers: dict[str, str]) -> Any:
    import aiohttp

    lat: list[float] = []
    deadline = time.monotonic() + duration
    count = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conns), headers=headers) as s:

        async def worker() -> None:
            nonlocal count
            while time.monotonic() < deadline and count < max_requests:
                count += 1
                t = time.perf_counter()
                async with s.get(url) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"{url} answered {r.status}")
                lat.append(time.perf_counter() - t)

        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(conns)))
        elapsed = time.monotonic() - t0
    lat.sort()
    return {
        "rps": len(lat) / elapsed,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000,
        "requests": float(len(lat)),
    }


def run_py(url: str, conns: int, duration: float, headers: dict[str, str]) -> dict[str, float]:
    return asyncio.run(_py_load(url, conns, duration, 200_000, headers))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per throughput run")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--latency-duration", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--load", choices=["auto", "python"], default="auto", help="auto: wrk when installed")
    ap.add_argument(
        "--also-client",
        action="append",
        default=[],
        choices=["aiohttp"],
        help="also measure this upstream client",
    )
    ap.add_argument("--out", default=str(ROOT / "bench/results/gateway.json"))
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT / "gateway/src"))
    from gateway.tokens import mint_dev_token

    load_before = list(os.getloadavg())
    _ensure_tools()
    use_wrk = shutil.which("wrk") is not None and args.load != "python"
    load = run_wrk if use_wrk else run_py
    token = mint_dev_token("bench-user", ["offender_manager"], ttl_s=3600)
    headers = {"Authorization": f"Bearer {token}"}
    backend_port, gw_port, nginx_port = free_port(), free_port(), free_port()
    procs: list[subprocess.Popen[bytes]] = []
    tmp = Path(tempfile.mkdtemp(prefix="hhpu-bench-gw-"))
    results: dict[str, Any] = {}
    try:
        uvicorn_args = ["--host", "127.0.0.1", "--workers", "1", "--no-access-log", "--log-level", "warning"]
        procs.append(
            start(
                [PY, "-m", "uvicorn", "--app-dir", str(HERE), "tiny_backend:app", "--port", str(backend_port)]
                + uvicorn_args
            )
        )
        wait_ready(f"http://127.0.0.1:{backend_port}/readyz")
        gw_env = {
            "GATEWAY_PORT": str(gw_port),
            "GATEWAY_REFERRAL_API_URL": f"http://127.0.0.1:{backend_port}",
            "GATEWAY_RATE_LIMIT_PER_S": "1000000",
            "GATEWAY_RATE_LIMIT_BURST": "1000000",
            "GATEWAY_LOG_LEVEL": "INFO",
            "HHPU_ENVIRONMENT": "development",  # the development signers of the bench's token and assertions
        }
        procs.append(start([PY, "-m", "gateway"], env=gw_env))
        pids = {"direct": procs[0].pid, "gateway": procs[-1].pid}
        wait_ready(f"http://127.0.0.1:{gw_port}/healthz")
        extra_gateways: dict[str, int] = {}
        for client in args.also_client:  # the same gateway with another upstream client, for comparison
            port = free_port()
            env = {**gw_env, "GATEWAY_PORT": str(port), "GATEWAY_UPSTREAM_CLIENT": client}
            procs.append(start([PY, "-m", "gateway"], env=env))
            wait_ready(f"http://127.0.0.1:{port}/healthz")
            extra_gateways[f"gateway_{client}"] = port
            pids[f"gateway_{client}"] = procs[-1].pid
        have_nginx = shutil.which("nginx") is not None
        if have_nginx:
            conf = nginx_config(tmp, nginx_port, backend_port)
            procs.append(start(["nginx", "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"]))
            pids["nginx"] = procs[-1].pid
            wait_ready(f"http://127.0.0.1:{nginx_port}/readyz")
        targets = {
            "direct": f"http://127.0.0.1:{backend_port}{PATH}",
            "gateway": f"http://127.0.0.1:{gw_port}{PATH}",
        }
        if have_nginx:
            targets["nginx"] = f"http://127.0.0.1:{nginx_port}{PATH}"
        for name, port in extra_gateways.items():
            targets[name] = f"http://127.0.0.1:{port}{PATH}"
        for url in targets.values():
            load(url, 4, 1.0, headers)  # warm up connections and caches
        # Interleaved rounds, median per target: other work on the machine shifts over time.
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for rnd in range(args.rounds):
            for name, url in targets.items():
                proxy_cpu, backend_cpu = cpu_seconds(pids[name]), cpu_seconds(pids["direct"])
                tp = load(url, args.concurrency, args.duration, headers)
                proxy_us = (cpu_seconds(pids[name]) - proxy_cpu) / tp["requests"] * 1e6
                backend_us = (cpu_seconds(pids["direct"]) - backend_cpu) / tp["requests"] * 1e6
                lat = load(url, 1, args.latency_duration, headers)
                runs[name].append(
                    {
                        "rps": tp["rps"],
                        "p99": tp["p99_ms"],
                        "p50": lat["p50_ms"],
                        "rps1": lat["rps"],
                        "proxy_cpu_us": proxy_us if name != "direct" else 0.0,
                        "backend_cpu_us": backend_us,
                    }
                )
                print(
                    f"round {rnd + 1} {name:16s} rps={tp['rps']:.0f} p50_no_load={lat['p50_ms']:.3f} ms "
                    f"cpu/request: proxy {proxy_us:.0f} us, backend {backend_us:.0f} us",
                    flush=True,
                )
        for name, rs in runs.items():
            results[name] = {
                "rps": round(statistics.median(r["rps"] for r in rs), 1),
                "p99_ms_loaded": round(statistics.median(r["p99"] for r in rs), 3),
                "p50_ms_no_load": round(statistics.median(r["p50"] for r in rs), 3),
                "rps_one_connection": round(statistics.median(r["rps1"] for r in rs), 1),
                "proxy_cpu_us_per_request": round(statistics.median(r["proxy_cpu_us"] for r in rs), 1),
                "backend_cpu_us_per_request": round(statistics.median(r["backend_cpu_us"] for r in rs), 1),
                "rounds": [{k: round(v, 3) for k, v in r.items()} for r in rs],
            }
    finally:
        for p in reversed(procs):
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)

    direct = results["direct"]
    summary: dict[str, Any] = {
        "gateway_throughput_ratio": round(results["gateway"]["rps"] / direct["rps"], 3),
        "gateway_added_p50_ms": round(results["gateway"]["p50_ms_no_load"] - direct["p50_ms_no_load"], 3),
    }
    if "nginx" in results:
        summary["nginx_throughput_ratio"] = round(results["nginx"]["rps"] / direct["rps"], 3)
        summary["nginx_added_p50_ms"] = round(
            results["nginx"]["p50_ms_no_load"] - direct["p50_ms_no_load"], 3
        )
    for name, res in results.items():
        if name.startswith("gateway_"):
            summary[f"{name}_throughput_ratio"] = round(res["rps"] / direct["rps"], 3)
            summary[f"{name}_added_p50_ms"] = round(res["p50_ms_no_load"] - direct["p50_ms_no_load"], 3)
    summary["cpu_us_per_request"] = {
        name: res["proxy_cpu_us_per_request"] if name != "direct" else res["backend_cpu_us_per_request"]
        for name, res in results.items()
    }
    # Issue 13's goal: with the strict upstream client the gateway keeps at least 0.7 of direct throughput.
    summary["goal"] = "gateway throughput >= 0.7 of direct"
    summary["goal_met"] = summary["gateway_throughput_ratio"] >= 0.7
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "load_generator": "wrk -t1" if use_wrk else "python aiohttp",
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "load_average_before": load_before,
        "load_average_after": list(os.getloadavg()),
        "duration_s": args.duration,
        "request": f"GET {PATH} with a staff JWT (gateway: verify, policy, rate limit, identity, forward)",
        "stack": _stack(),
        "results": results,
        "summary": summary,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    print(f"written to {out}")
    return 0


def _ensure_tools() -> None:
    """Install Debian's nginx and wrk when missing (root with apt-get only); the benchmark works without."""
    missing = [t for t in ("nginx", "wrk") if shutil.which(t) is None]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"installing {' '.join(missing)} with apt-get", flush=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", *missing],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=300,
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )


def _stack() -> dict[str, Any]:
    import importlib.util

    return {
        "server": "uvicorn ("
        + ("httptools" if importlib.util.find_spec("httptools") else "h11")
        + ", "
        + ("uvloop" if importlib.util.find_spec("uvloop") else "asyncio")
        + " loop)",
        "gateway_client": "builtin HTTP/1.1 client (gateway.rawhttp); aiohttp with GATEWAY_UPSTREAM_CLIENT",
    }


if __name__ == "__main__":
    raise SystemExit(main())
