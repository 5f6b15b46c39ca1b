"""Every service's background workers run in its consumer process, not only beside its API (the
ranking scheduler once never ran in the consumer process, the meeting sweep ran in both).

``python -m <package> consumer`` is run as the deployment runs it (``SERVICE.main(["consumer"])``, its
settings from the environment); only the wait for SIGTERM is replaced, so the test can look inside
the started runtime and stop it."""

from __future__ import annotations

from typing import Any

import pytest
from hhpu.services import SERVICES, spec
from hhpu_shared import service as service_module
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.databases import migrated

# What switches each service's workers on in the test environment (their intervals default to off
# there, or are long).
WORKER_SETTINGS = {
    "referral-api": {},
    "ranking-service": {"SCHEDULE_ENABLED": "true", "SCHEDULE_CHECK_S": "3600"},
    "case-service": {"REVIEW_METRIC_INTERVAL_S": "3600"},
    "meeting-service": {"OVERDUE_SWEEP_INTERVAL_S": "3600"},
}
EXPECTED = {
    "referral-api": set(),
    "ranking-service": {"ranking-schedule", "ranking-schedule-status"},
    "case-service": {"overdue-reviews"},
    "meeting-service": {"overdue-sweep"},
}


@pytest.mark.parametrize("name", list(SERVICES))
def test_the_consumer_process_runs_the_services_background_workers(
    name: str, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = spec(name)
    _package, prefix = SERVICES[name]
    monkeypatch.setenv(f"{prefix}DATABASE_URL", migrated(service.migrations, sqlite_url))
    monkeypatch.setenv(f"{prefix}TRANSPORT", "inprocess")
    for key, value in WORKER_SETTINGS[name].items():
        monkeypatch.setenv(f"{prefix}{key}", value)
    started: list[ServiceRuntime] = []

    def until_signalled(runtime: ServiceRuntime) -> None:
        runtime.start()
        started.append(runtime)

    monkeypatch.setattr(service_module, "run_until_signalled", until_signalled)
    service.main(["consumer"])
    (runtime,) = started
    try:
        assert runtime.run_consumer and runtime.consumer is not None
        loops: list[Any] = runtime._worker_loops
        running = {loop.name.removeprefix(f"{runtime.service}-") for loop in loops if loop.running}
        # The service's own workers, plus the outbox retention every runtime runs (hhpu_shared).
        assert running == EXPECTED[name] | {"outbox-retention"}
        assert {w.name for w in service.workers} == EXPECTED[name]  # every worker the service declares
    finally:
        runtime.stop()
        runtime.engine.dispose()
