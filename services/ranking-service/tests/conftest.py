"""Fixtures of the ranking-service tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.databases import migrated
from ranking_service.app import build_runtime, create_app
from ranking_service.migrations import MIGRATIONS
from ranking_service.service.imports import ImportReport
from ranking_service.settings import RankingSettings
from ranking_service.synthetic import SyntheticForce, generate


def settings_for(database_url: str, data_dir: Path, **overrides: Any) -> RankingSettings:
    """Settings of a test service on a database migrated to head (the schedule off unless asked)."""
    overrides.setdefault("schedule_enabled", False)
    return RankingSettings(
        database_url=migrated(MIGRATIONS, database_url), data_dir=str(data_dir), **overrides
    )


@pytest.fixture
def rank_settings(tmp_path: Path) -> RankingSettings:
    return settings_for(f"sqlite:///{tmp_path}/rank.db", tmp_path / "data")


@pytest.fixture
def rank_runtime(rank_settings: RankingSettings) -> ServiceRuntime:
    return build_runtime(rank_settings, run_consumer=False)


@pytest.fixture
def rank_client(rank_settings: RankingSettings) -> Iterator[TestClient]:
    app = create_app(rank_settings, run_consumer=False)
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="session")
def rank_force() -> SyntheticForce:
    """A small synthetic force whose records end today (so today's run is current)."""
    today = datetime.now(UTC).date()
    return generate(
        800,
        6000,
        seed=5,
        start=today - timedelta(days=3 * 365),
        split=today - timedelta(days=365),
        end=today,
        include_scenario_people=True,
    )


def import_into(
    runtime: ServiceRuntime,
    path: Path,
    kind: str = "offences",
    settings: RankingSettings | None = None,
    **kwargs: Any,
) -> ImportReport:
    """Import one file through the service layer, in a unit of work of its own (as the CLI does)."""
    from ranking_service.service.imports import import_file

    with runtime.unit_of_work() as uow:
        return import_file(uow, settings or runtime.settings, path, kind, **kwargs)  # type: ignore[arg-type]


def load_force(client: TestClient, force: SyntheticForce, directory: Path) -> None:
    """Import a synthetic force (people and offences) through the service's importer."""
    from ranking_service.synthetic import write_force

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    people, offences = write_force(force, directory)
    import_into(runtime, people, "people")
    import_into(runtime, offences, "offences")


def publish_case_event(client: TestClient, data: object, aggregate_id: str) -> None:
    """Put a case-service event on the in-process bus and let the service consume it."""
    from hhpu_shared.events.envelope import Envelope
    from hhpu_shared.events.registry import EventData, event_spec
    from hhpu_shared.messaging.transport import OutboundMessage

    assert isinstance(data, EventData)
    spec = event_spec(data)
    env = Envelope(
        type=spec.name,
        producer="case-service",
        correlation_id="test",
        aggregate_type=spec.aggregate_type,
        aggregate_id=aggregate_id,
        data=data.model_dump(mode="json"),
    )
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    runtime.bus.publisher().publish_batch(
        [OutboundMessage(spec.topic, aggregate_id.encode(), env.to_bytes())]
    )
    consumer = runtime.build_consumer()
    while consumer.run_once(0.05):
        pass


def ranking_events(client: TestClient, event_type: str) -> list[dict[str, Any]]:
    import json

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    runtime.relay.drain()
    out = []
    for m in runtime.bus.messages("hhpu.ranking_run.events"):
        env = json.loads(m.value)
        if env["type"] == event_type:
            out.append(env)
    return out


class RankTools:
    """Helpers for tests, given as a fixture (test modules cannot import conftest reliably)."""

    settings_for = staticmethod(settings_for)
    import_into = staticmethod(import_into)
    load_force = staticmethod(load_force)
    publish_case_event = staticmethod(publish_case_event)
    ranking_events = staticmethod(ranking_events)


@pytest.fixture
def rank_tools() -> type[RankTools]:
    return RankTools
