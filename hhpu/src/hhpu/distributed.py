"""Distributed mode on one machine: every service as its own processes, on PostgreSQL and Kafka.

Each service runs its API (uvicorn) and its consumer (``python -m <pkg>.consumer``) as separate
processes with its own PostgreSQL database; the gateway runs in front. This is how the end-to-end
tests run the system, and the shape docker-compose and Kubernetes use. Processes bind 127.0.0.1
and are stopped by PID.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from hhpu.services import SERVICES, spec

# The outbox relay's fallback poll in the launched processes: a commit in any process wakes every
# relay at once (its own process's directly, the others' by PostgreSQL's NOTIFY), so the poll only
# covers a notification missed while a listener reconnects (it was 0.05 s before the NOTIFY).
RELAY_INTERVAL_S = "1.0"


def die_with_parent() -> None:
    """In a child, before it runs (``preexec_fn``): SIGTERM it when the process that started it dies.

    The launched processes run in sessions of their own (stopped by PID, never by name), so a test
    run killed from outside (a CI timeout) would leave them running: consumers that rejoin the next
    run's broker and database on the same ports. Linux only (``prctl(PR_SET_PDEATHSIG)``); elsewhere
    nothing is set."""
    if sys.platform != "linux":
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1


# Ports handed to the processes launched here are drawn at random from below the kernel's ephemeral
# range: a port the kernel picks (bind to 0) can be taken as the local port of any outgoing connection
# (a PostgreSQL or Kafka client) before the launched server binds it ("address already in use", once in
# eight benchmark runs); ports below the range are only ever taken by a listener asking for one.
_PORT_FLOOR = 20000
_ports = random.Random()  # seeded from the OS: processes started together draw differently


def ephemeral_range(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> tuple[int, int]:
    """The kernel's range of ports for outgoing connections (Linux's default where it is not readable)."""
    try:
        low, high = (int(x) for x in Path(path).read_text().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def free_port(ephemeral: tuple[int, int] | None = None) -> int:
    """A port on 127.0.0.1 that is free now, for a server about to be started.

    Drawn from [20000, the ephemeral range's start) when that span is wide (a thousand ports or more),
    checked by binding it; otherwise (or after 50 taken draws) the kernel's choice."""
    low, _high = ephemeral or ephemeral_range()
    if low - _PORT_FLOOR >= 1000:
        for _ in range(50):
            port = _ports.randrange(_PORT_FLOOR, low)
            if _bindable(port):
                return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def api_command(pkg: str, port: int) -> list[str]:
    """The arguments after ``python`` that serve a service's API as distributed mode runs it: uvicorn,
    one worker, on 127.0.0.1:`port` (uvloop and httptools when installed: uvicorn's defaults)."""
    return [
        "-m",
        "uvicorn",
        f"{pkg}.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


@dataclass
class Cluster:
    workdir: Path
    gateway_url: str = ""
    service_urls: dict[str, str] = field(default_factory=dict)
    consumer_metrics_urls: dict[str, str] = field(default_factory=dict)
    database_urls: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    envs: dict[str, dict[str, str]] = field(default_factory=dict)

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def report(self, lines: int = 15, *, stacks: bool = True, stack_lines: int = 300) -> str:
        """Each process: running or its exit code, its last `lines` warnings and errors (the logs
        are JSON lines; a line that is not, such as a traceback, counts) and, with `stacks`, where
        each of its threads is (SIGUSR1: `hhpu_shared.logging.enable_stack_dumps`). For a failed
        test's report, so a failure on a machine whose files are gone (CI) still names the process
        that stopped, or shows where one that runs is waiting."""
        sizes = {name: len(self.log(name)) for name in self.procs}
        running = [p for p in self.procs.values() if p.poll() is None]
        if stacks and running:
            for proc in running:
                proc.send_signal(signal.SIGUSR1)
            time.sleep(1.0)
        out: list[str] = []
        for name, proc in self.procs.items():
            code = proc.poll()
            out.append(f"== {name}: {'running' if code is None else f'exited with {code}'} (pid {proc.pid})")
            text = self.log(name)
            worrying = [line for line in text[: sizes[name]].splitlines() if _worrying(line)]
            out.extend(line[:600] for line in worrying[-lines:])
            if stacks and code is None:
                out.append(f"-- {name}: threads")
                out.extend(text[sizes[name] :].splitlines()[:stack_lines])
        return "\n".join(out)

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        out = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        self.envs[name] = env
        self.procs[name] = subprocess.Popen(
            [sys.executable, *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,  # only prctl between fork and exec
        )

    def restart(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one process by PID and start it again with the same command."""
        proc = self.procs[name]
        args = [str(a) for a in list(proc.args)[1:]]  # type: ignore[arg-type]
        proc.send_signal(sig)
        proc.wait(30)
        self._spawn(name, args, self.envs[name])

    def env_for(self, name: str) -> dict[str, str]:
        service = name.removesuffix(".api").removesuffix(".consumer")
        env = dict(self.env)
        if service in SERVICES:
            _pkg, prefix = SERVICES[service]
            env[f"{prefix}DATABASE_URL"] = self.database_urls[service]
            env[f"{prefix}TRANSPORT"] = "kafka"
            # Settings are read with the service's own prefix only (HHPU_RELAY_INTERVAL_S is not one).
            env.setdefault(f"{prefix}RELAY_INTERVAL_S", RELAY_INTERVAL_S)
        return env

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _worrying(line: str) -> bool:
    try:
        level = json.loads(line).get("level", "")
    except (ValueError, AttributeError):
        return bool(line.strip())
    return level in ("WARNING", "ERROR", "CRITICAL")


def _wait_ready(
    url: str, proc: subprocess.Popen[bytes], name: str, cluster: Cluster, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{cluster.log(name)[-3000:]}")
        try:
            r = httpx.get(url + "/readyz", timeout=5)
            if r.status_code == 200:
                return
            last = r.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    raise TimeoutError(f"{name} not ready at {url}: {last}\n{cluster.log(name)[-3000:]}")


def wait_consumers(
    cluster: Cluster, bootstrap: str, namespace: str, *, services: list[str], timeout_s: float
) -> None:
    """Until every consumer group of each service's consumer process has a live member (as the broker
    sees it): a test then starts with the consumers in their groups, not while they still import or
    join. A consumer process that exits, or groups still empty at the deadline, fail with the
    cluster's report (each process's state, warnings and thread stacks)."""
    from hhpu_shared.messaging.group_lag import GroupLagMonitor
    from hhpu_shared.runtime import consumer_groups

    monitors = {}
    for name in services:
        service = spec(name)
        groups = consumer_groups(name, service.handlers, service.extra_consumers)
        if groups:
            monitors[name] = GroupLagMonitor(bootstrap, groups, service=name, namespace=namespace)
    deadline = time.monotonic() + timeout_s
    waiting = set(monitors)
    try:
        while waiting:
            for name in sorted(waiting):
                proc = cluster.procs[f"{name}.consumer"]
                if proc.poll() is not None:
                    raise RuntimeError(f"{name}.consumer exited with {proc.returncode}:\n{cluster.report()}")
                try:
                    states = monitors[name].measure()
                except Exception:  # the broker busy: asked again below
                    continue
                if all(state.members >= 1 for state in states.values()):
                    waiting.discard(name)
            if waiting and time.monotonic() > deadline:
                raise TimeoutError(f"consumers not in their groups: {sorted(waiting)}\n{cluster.report()}")
            if waiting:
                time.sleep(0.5)
    finally:
        for monitor in monitors.values():
            monitor.stop()


def start_cluster(
    *,
    workdir: Path,
    database_urls: dict[str, str],
    kafka_bootstrap: str,
    namespace: str,
    extra_env: dict[str, str] | None = None,
    timeout_s: float = 120,
) -> Cluster:
    """Start the four services (API + consumer each) and the gateway; wait until all are ready (the
    APIs and the gateway answer `/readyz`, every consumer group has its member)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(workdir=workdir, database_urls=dict(database_urls))
    cluster.env = {
        **os.environ,
        "HHPU_TRANSPORT": "kafka",
        "HHPU_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "HHPU_TOPIC_NAMESPACE": namespace,
        "HHPU_ENVIRONMENT": "test",
        **(extra_env or {}),
    }
    try:
        for name, (pkg, _prefix) in SERVICES.items():
            # As compose and Kubernetes do: migrate first (a one-off process), then start the service.
            migration = subprocess.run(
                [sys.executable, "-m", pkg, "migrate"],
                env=cluster.env_for(name),
                capture_output=True,
                timeout=120,
            )
            if migration.returncode != 0:
                raise RuntimeError(f"{name} migration failed:\n{migration.stdout.decode()[-3000:]}")
        for name, (pkg, _prefix) in SERVICES.items():
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            cluster.service_urls[name] = url
            cluster._spawn(f"{name}.api", api_command(pkg, port), cluster.env_for(name))
            mport = free_port()
            cluster.consumer_metrics_urls[name] = f"http://127.0.0.1:{mport}/metrics"
            # Static group membership: a restarted consumer takes its partitions back at once.
            cenv = {
                **cluster.env_for(name),
                "HHPU_METRICS_PORT": str(mport),
                "HHPU_KAFKA_INSTANCE_ID": f"{name}.consumer",
            }
            cluster._spawn(f"{name}.consumer", ["-m", f"{pkg}.consumer"], cenv)
        gport = free_port()
        cluster.gateway_url = f"http://127.0.0.1:{gport}"
        genv = dict(cluster.env)
        for name, url in cluster.service_urls.items():
            genv[f"GATEWAY_{name.upper().replace('-', '_')}_URL"] = url
        # The key cache stays on (gateway default TTL): a key revoked through this gateway is dropped
        # at once, and on any other replica it is served at most for the TTL; a deactivated agency
        # is refused by the referral-api itself on the next referral.
        genv["GATEWAY_PORT"] = str(gport)
        # `python -m gateway` serves it as deployments do: head limits, head timeout, no proxy trust.
        cluster._spawn("gateway", ["-m", "gateway"], genv)
        for name, url in cluster.service_urls.items():
            _wait_ready(url, cluster.procs[f"{name}.api"], f"{name}.api", cluster, timeout_s)
        _wait_ready(cluster.gateway_url, cluster.procs["gateway"], "gateway", cluster, timeout_s)
        wait_consumers(cluster, kafka_bootstrap, namespace, services=list(SERVICES), timeout_s=timeout_s)
    except BaseException:
        cluster.stop()
        raise
    return cluster
