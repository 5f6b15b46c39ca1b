"""The architecture page stays true: every event, its topic, its producer and its consumers."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from hhpu_shared.events.registry import registered_events

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
TEST_ONLY_AGGREGATES = {"fdtest"}
PRODUCERS = {
    "referral": "referral-api",
    "agency": "referral-api",
    "ranking_run": "ranking-service",
    "assessment": "case-service",
    "case": "case-service",
    "person": "case-service",
    "meeting": "meeting-service",
    "action": "meeting-service",
}
HANDLERS = {
    "referral-api": "referral_api.handlers",
    "ranking-service": "ranking_service.handlers",
    "case-service": "case_service.handlers",
    "meeting-service": "meeting_service.handlers",
}


def consumers() -> dict[str, set[str]]:
    """Event names each service handles (its registry is keyed by name and version)."""
    return {
        svc: {name for name, _version in importlib.import_module(mod).handlers.handlers}
        for svc, mod in HANDLERS.items()
    }


def test_every_handled_event_is_a_registered_contract() -> None:
    names = {s.name for s in registered_events()}
    for svc, handled in consumers().items():
        assert handled <= names, f"{svc} handles unknown events {handled - names}"


def test_architecture_page_lists_every_event_with_producer_and_consumers() -> None:
    text = DOC.read_text()
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*`([a-z_.]+)`\s*\|\s*`([a-z_.]+)`\s*\|\s*([^|]+)\|\s*([^|]+)\|", line)
        if m:
            rows[m.group(1)] = (
                m.group(2),
                m.group(3).strip(),
                {c.strip() for c in m.group(4).split(",")} - {"—"},
            )
    cons = consumers()
    for spec in registered_events():
        if spec.aggregate_type in TEST_ONLY_AGGREGATES:
            continue
        assert spec.name in rows, f"{spec.name} missing from docs/architecture.md"
        topic, producer, documented = rows[spec.name]
        assert topic == spec.topic
        assert producer == PRODUCERS[spec.aggregate_type]
        actual = {svc for svc, handled in cons.items() if spec.name in handled}
        assert documented == actual, f"{spec.name}: documented {documented}, actual {actual}"
