"""Fixtures of the shared library's integration tests on the real broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hhpu_shared.db import make_engine
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.kafka import ensure_topics
from hhpu_shared.testing import steps
from hhpu_shared.testing.plugin import unique
from kafka_delivery_testing import TOPIC
from sqlalchemy import Engine


@pytest.fixture
def namespace(kafka_bootstrap: str) -> str:
    ns = unique("t") + "."
    ensure_topics(kafka_bootstrap, [ns + TOPIC, ns + dlt_topic(TOPIC)])
    return ns


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    """An engine on a fresh PostgreSQL database holding the steps service's tables (the relay's
    tests: advisory locks and sessions PostgreSQL ends are PostgreSQL's). A module needing another
    engine defines its own."""
    eng = make_engine(pg_url)
    steps.create_tables(eng)
    yield eng
    eng.dispose()
