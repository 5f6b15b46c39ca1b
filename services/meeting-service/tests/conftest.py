"""Fixtures of the meeting-service tests: an app on a migrated database with the in-process bus."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hhpu_shared.events.contracts.case import AssessmentOpened
from hhpu_shared.events.contracts.common import Trigger
from hhpu_shared.events.envelope import Envelope
from hhpu_shared.events.registry import EventData, event_spec
from hhpu_shared.messaging.inprocess import InProcessBus
from hhpu_shared.messaging.transport import OutboundMessage
from hhpu_shared.runtime import ServiceRuntime
from hhpu_shared.testing.databases import migrated
from hhpu_shared.testing.plugin import identity_headers
from meeting_service.app import create_app
from meeting_service.migrations import MIGRATIONS
from meeting_service.seed import seed_demo
from meeting_service.settings import MeetingSettings

# Staff give the reason for reading or changing a person's data (X-Justification).
WHY = {"X-Justification": "preparing the monthly multi-agency meeting"}


def envelope_for(data: EventData, aggregate_id: str) -> Envelope:
    spec = event_spec(data)
    return Envelope(
        type=spec.name,
        version=spec.version,
        producer="test",
        correlation_id=str(uuid.uuid4()),
        aggregate_type=spec.aggregate_type,
        aggregate_id=aggregate_id,
        data=data.model_dump(mode="json"),
    )


def opened(n: int, urgency: str = "normal", label: str | None = None) -> AssessmentOpened:
    return AssessmentOpened(
        assessment_id=f"asm-{n}",
        person_id=f"per-{n}",
        person_label=label or f"Person {n}",
        triggers=(Trigger(source="referral", ref=f"ref-{n}"),),
        urgency=urgency,
    )


@dataclass
class Harness:
    client: TestClient
    runtime: ServiceRuntime
    bus: InProcessBus
    seed: dict[str, Any]

    envelope_for = staticmethod(envelope_for)
    opened = staticmethod(opened)

    @staticmethod
    def chair() -> dict[str, str]:
        return {**identity_headers("meeting_chair", subject="user:chair", name="DI Sarah Cole"), **WHY}

    @staticmethod
    def partner(agency_id: str) -> dict[str, str]:
        return identity_headers("partner_agency", subject=f"agency:{agency_id}", agency_id=agency_id)

    @staticmethod
    def staff(*roles: str, subject: str = "user:staff") -> dict[str, str]:
        return {**identity_headers(*roles, subject=subject), **WHY}

    def publish(self, env: Envelope) -> None:
        topic = event_spec(type(self._data(env))).topic
        self.bus.append([OutboundMessage(topic, env.aggregate_id.encode(), env.to_bytes())])

    @staticmethod
    def _data(env: Envelope) -> EventData:
        from hhpu_shared.events.registry import parse_data

        return parse_data(env)

    def emit(self, data: EventData, aggregate_id: str) -> Envelope:
        env = envelope_for(data, aggregate_id)
        self.publish(env)
        return env

    def consume(self) -> int:
        consumer = self.runtime.build_consumer()
        assert consumer is not None
        total = 0
        while (n := consumer.run_once(0.01)) > 0:
            total += n
        return total

    def events(self, event_type: str) -> list[Envelope]:
        relay = self.runtime.build_relay()
        relay.drain()
        spec = [s for s in _specs() if s.name == event_type][0]
        envs = [Envelope.from_bytes(m.value) for m in self.bus.messages(spec.topic)]
        return [e for e in envs if e.type == event_type]


def _specs() -> list[Any]:
    from hhpu_shared.events.registry import registered_events

    return registered_events()


def settings_for(url: str, **overrides: Any) -> MeetingSettings:
    """Settings of a test app on `url`, migrated to head first (processes never create tables)."""
    values: dict[str, Any] = {"overdue_sweep_interval_s": 0, "environment": "test", **overrides}
    return MeetingSettings(database_url=migrated(MIGRATIONS, url), **values)


def _harness(url: str, **overrides: Any) -> Iterator[Harness]:
    bus = InProcessBus()
    settings = settings_for(url, **overrides)
    app = create_app(settings, bus=bus)
    runtime: ServiceRuntime = app.state.runtime
    seed = seed_demo(runtime, today=date.today())
    client = TestClient(app)
    yield Harness(client=client, runtime=runtime, bus=bus, seed=seed)
    runtime.stop()
    runtime.engine.dispose()


@pytest.fixture
def harness(tmp_path: Any) -> Iterator[Harness]:
    """SQLite file database and the in-process bus."""
    yield from _harness(f"sqlite:///{tmp_path}/meeting.db")


@pytest.fixture(scope="module")
def shared_harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """One harness for a whole module, for tests that only add rows of their own (or none)."""
    yield from _harness(f"sqlite:///{tmp_path_factory.mktemp('meeting')}/shared.db")


@pytest.fixture
def pg_harness(pg_url: str) -> Iterator[Harness]:
    """Real PostgreSQL and the in-process bus."""
    yield from _harness(pg_url)


@pytest.fixture
def make_harness(tmp_path: Any) -> Iterator[Callable[..., Harness]]:
    """Harnesses on SQLite with settings of the test's choosing (e.g. a running overdue sweep)."""
    made: list[Iterator[Harness]] = []

    def make(**overrides: Any) -> Harness:
        gen = _harness(f"sqlite:///{tmp_path}/meeting-{len(made)}.db", **overrides)
        made.append(gen)
        return next(gen)

    yield make
    for gen in made:
        next(gen, None)
