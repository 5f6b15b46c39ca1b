"""What the intake profilers share: a process's CPU and context switches from /proc, thread names from
py-spy, a wait until a server answers its readiness probe, and the unique subjects' family names.

Used by api_prof.py (the referral-api's API process), intake_prof.py (its own process), bench_intake.py
(the cluster's processes), bench/pipeline/bench_idle.py, bench_pipeline.py and bench_consumers.py (the
cluster's, PostgreSQL's and the broker's CPU: `cpu_snapshot`, `cpu_spent_ms`) and
bench/reliability/single.py (waiting for ``hhpu run``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import httpx

SPY = os.environ.get("PY_SPY", "/tmp/spyenv-api/bin/py-spy")
SYLLABLES = ("bar", "cen", "dol", "fen", "gar", "hul", "kir", "lom", "mor", "nes", "pol", "rud", "sal", "tor")


def family_name(n: int) -> str:
    """A made-up family name per number (14^5 of them), so each referral's subject is a new person."""
    out = ""
    for _ in range(5):
        out += SYLLABLES[n % len(SYLLABLES)]
        n //= len(SYLLABLES)
    return out.capitalize()


def cpu_s(pid: int, system_only: bool = False, children: bool = False) -> float:
    """User + system (or system only) CPU seconds of the process so far (with its reaped children's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[12 if system_only else 11 : 13])
    if children:  # cutime, cstime
        ticks += sum(int(x) for x in fields[14 if system_only else 13 : 15])
    return ticks / os.sysconf("SC_CLK_TCK")


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


INFRA = {"postgres": "postgres", "java": "broker"}  # command name -> figure (read, never signalled)


Snapshot = dict[str | tuple[str, int], float]


def cpu_snapshot(procs: dict[str, int], infra: bool = True) -> Snapshot:
    """CPU seconds so far of each named process (with its reaped children) and, with `infra`, of every
    PostgreSQL and broker process, keyed (figure, PID): PostgreSQL's backends come and go."""
    pids: list[tuple[str | tuple[str, int], int]] = list(procs.items())
    if infra:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and (figure := INFRA.get(comm(int(entry.name)))):
                pids.append(((figure, int(entry.name)), int(entry.name)))
    out: Snapshot = {}
    for key, pid in pids:
        try:
            out[key] = cpu_s(pid, children=isinstance(key, str))
        except OSError:
            continue
    return out


def cpu_spent_ms(before: Snapshot, after: Snapshot, per: float) -> dict[str, float]:
    """Milliseconds of CPU per `per` (requests or seconds) between two snapshots: each named process
    (largest first), their "total", then, when the snapshots hold them, "postgres" and "broker" (not
    in the total)."""
    spent = {k: (after[k] - before[k]) * 1000 / max(per, 1e-9) for k in after if k in before}
    named = sorted(((k, v) for k, v in spent.items() if isinstance(k, str)), key=lambda kv: -kv[1])
    out = {k: round(v, 1) for k, v in named}
    out["total"] = round(sum(v for _k, v in named), 1)
    infra = [(k[0], v) for k, v in spent.items() if isinstance(k, tuple)]
    for figure in dict.fromkeys(INFRA.values()) if infra else ():
        out[figure] = round(sum(v for f, v in infra if f == figure), 1)
    return out


def switches(pid: int) -> int:
    """Context switches (voluntary and not) of every thread of the process so far."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if "ctxt_switches" in line:
                    total += int(line.split()[-1])
        except OSError:
            continue
    return total


def thread_cpu_s(pid: int) -> dict[int, float]:
    """OS thread id -> user + system CPU seconds of that thread so far."""
    out: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(task.name)] = sum(int(x) for x in fields[11:13]) / tick
    return out


def thread_names(pid: int) -> dict[int, str]:
    """OS thread id -> Python thread name (py-spy dump); {} when py-spy cannot attach."""
    try:
        r = subprocess.run(
            [SPY, "dump", "--json", "--pid", str(pid)], capture_output=True, text=True, timeout=60
        )
        return {int(t["os_thread_id"]): str(t.get("thread_name") or "?") for t in json.loads(r.stdout)}
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return {}


def group_name(name: str) -> str:
    """Threads of one pool under one name."""
    if name.startswith("AnyIO worker thread"):
        return "anyio worker threads (sync routes and dependencies)"
    if name.startswith("kafka-python-producer"):
        return "kafka producer network thread"
    return name


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], what: str, timeout_s: float = 180, log: Path | None = None
) -> float:
    """Poll ``url/readyz`` until it answers 200 (returns the time.time() it did); fails when the
    process exits first (with the end of `log`) or after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}\n{tail}")
        try:
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                return time.time()
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{what} did not become ready")


def launcher_relay_interval(code: Path) -> str:
    """The relay's poll interval distributed mode sets in that checkout (``hhpu.distributed``), so a
    process measured for another checkout's code runs as that code's launcher would run it."""
    text = (code / "hhpu" / "src" / "hhpu" / "distributed.py").read_text()
    found = re.search(r'^RELAY_INTERVAL_S = "([0-9.]+)"', text, re.M)
    if found is None:
        raise RuntimeError(f"no RELAY_INTERVAL_S in {code}'s hhpu.distributed")
    return found.group(1)
