"""The environment the distributed launcher gives each process reaches the service's settings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hhpu.distributed import RELAY_INTERVAL_S, Cluster
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


def test_report_names_each_process_and_its_warnings(tmp_path: Path) -> None:
    """A failed end-to-end test's report says which process stopped and what each complained of."""
    cluster = Cluster(workdir=tmp_path)
    script = "import sys; print('Traceback: boom', flush=True); sys.exit(3)"
    cluster._spawn("case-service.consumer", ["-c", script], dict(os.environ))
    cluster._spawn("gateway", ["-c", "import time; time.sleep(30)"], dict(os.environ))
    try:
        cluster.procs["case-service.consumer"].wait(30)
        with open(tmp_path / "gateway.log", "a") as log:
            for level, msg in [("INFO", "fine"), ("WARNING", "slow upstream"), ("ERROR", "gave up")]:
                log.write(json.dumps({"level": level, "msg": msg}) + "\n")
        report = cluster.report()
    finally:
        cluster.stop()
    assert "== case-service.consumer: exited with 3" in report
    assert "Traceback: boom" in report
    assert "== gateway: running" in report
    assert "slow upstream" in report and "gave up" in report
    assert "fine" not in report
