"""The environment the distributed launcher gives each process reaches the service's settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hhpu.distributed import RELAY_INTERVAL_S, Cluster, wait_consumers
from hhpu.services import SERVICES, spec


@pytest.mark.parametrize("name", sorted(SERVICES))
@pytest.mark.parametrize("role", ["api", "consumer"])
def test_launched_process_reads_its_relay_interval(
    name: str, role: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = Cluster(workdir=tmp_path, database_urls={n: f"sqlite:///{tmp_path}/{n}.db" for n in SERVICES})
    cluster.env = {"HHPU_TRANSPORT": "kafka", "HHPU_ENVIRONMENT": "test"}
    env = cluster.env_for(f"{name}.{role}")
    for key in [k for k in os.environ if k.endswith("RELAY_INTERVAL_S") or k.endswith("DATABASE_URL")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = spec(name).settings()
    # The settings' default is 0.2 s: the launcher's value arrives only under the service's own prefix.
    assert settings.relay_interval_s == pytest.approx(float(RELAY_INTERVAL_S)) != 0.2
    assert settings.effective_database_url() == f"sqlite:///{tmp_path}/{name}.db"


def test_report_names_each_process_its_warnings_and_where_its_threads_are(tmp_path: Path) -> None:
    """A failed end-to-end test's report says which process stopped, what each complained of, and
    where the threads of each running one are (a process that hangs shows where it waits)."""
    cluster = Cluster(workdir=tmp_path)
    script = "import sys; print('Traceback: boom', flush=True); sys.exit(3)"
    cluster._spawn("case-service.consumer", ["-c", script], dict(os.environ))
    waiting = (
        "from hhpu_shared.logging import configure_logging\n"
        "configure_logging('gateway')\n"
        "import threading\n"
        "def parked_forever(): threading.Event().wait()\n"
        "threading.Thread(target=parked_forever, daemon=True).start()\n"
        "print('ready', flush=True)\n"
        "threading.Event().wait(60)\n"
    )
    cluster._spawn("gateway", ["-c", waiting], dict(os.environ))
    try:
        cluster.procs["case-service.consumer"].wait(30)
        deadline = time.monotonic() + 60
        while "ready" not in cluster.log("gateway") and time.monotonic() < deadline:
            time.sleep(0.1)
        with open(tmp_path / "gateway.log", "a") as log:
            for level, msg in [("INFO", "fine"), ("WARNING", "slow upstream"), ("ERROR", "gave up")]:
                log.write(json.dumps({"level": level, "msg": msg}) + "\n")
        report = cluster.report()
        assert cluster.procs["gateway"].poll() is None  # the signal dumped stacks, it did not kill
    finally:
        cluster.stop()
    assert "== case-service.consumer: exited with 3" in report
    assert "Traceback: boom" in report
    assert "== gateway: running" in report
    assert "slow upstream" in report and "gave up" in report
    assert "fine" not in report
    assert "-- gateway: threads" in report and "in parked_forever" in report


def test_launched_processes_do_not_outlive_a_killed_test_run(tmp_path: Path) -> None:
    """A test run killed from outside (a CI timeout) takes the processes it launched with it: they run
    in sessions of their own, so nothing else would stop them."""
    parent = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from hhpu.distributed import Cluster\n"
        f"c = Cluster(workdir=Path({str(tmp_path)!r}))\n"
        "c._spawn('case-service.consumer', ['-c', 'import time; time.sleep(120)'], dict(os.environ))\n"
        "print(c.procs['case-service.consumer'].pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    run = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    try:
        assert run.stdout is not None
        child = int(run.stdout.readline())
        os.kill(child, 0)  # alive while the run lives
        run.kill()
        run.wait(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.1)
        assert not _alive(child), "the launched process outlived the killed run"
    finally:
        if run.poll() is None:
            run.kill()


def _alive(pid: int) -> bool:
    """A process of another parent (reaped there, not here) that has not exited."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_a_consumer_that_exits_fails_the_cluster_start_with_its_report(tmp_path: Path) -> None:
    """The cluster waits for its consumers to join their groups; one that exits instead is named at
    once, with its output (no broker is needed to see that)."""
    cluster = Cluster(workdir=tmp_path)
    script = "import sys; print('Traceback: no broker', flush=True); sys.exit(1)"
    cluster._spawn("case-service.consumer", ["-c", script], dict(os.environ))
    cluster.procs["case-service.consumer"].wait(30)
    with pytest.raises(RuntimeError) as failed:
        wait_consumers(cluster, "127.0.0.1:9", "ns.", services=["case-service"], timeout_s=30)
    assert "case-service.consumer exited with 1" in str(failed.value)
    assert "Traceback: no broker" in str(failed.value)
