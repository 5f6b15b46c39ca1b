"""Fixtures of the shared library's integration tests on the real broker."""

from __future__ import annotations

import pytest
from hhpu_shared.events.registry import dlt_topic
from hhpu_shared.messaging.kafka import ensure_topics
from hhpu_shared.testing.plugin import unique
from kafka_delivery_testing import TOPIC


@pytest.fixture
def namespace(kafka_bootstrap: str) -> str:
    ns = unique("t") + "."
    ensure_topics(kafka_bootstrap, [ns + TOPIC, ns + dlt_topic(TOPIC)])
    return ns
