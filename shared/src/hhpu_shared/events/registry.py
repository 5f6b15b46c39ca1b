"""One registry of event types: name (past tense), version, aggregate and frozen data model.

Topic convention: ``hhpu.<aggregate_type>.events``; poison messages go to ``<topic>.DLT``.
"""

from __future__ import annotations

from hhpu_shared.events import contracts  # noqa: F401 - importing registers every contract
from hhpu_shared.events.base import BY_MODEL, REGISTRY, EventData, EventSpec, dlt_topic, register, topic_for
from hhpu_shared.events.envelope import Envelope

__all__ = ["EventData", "EventSpec", "register", "topic_for", "dlt_topic"]


def event_spec(model: type[EventData] | EventData) -> EventSpec:
    cls = model if isinstance(model, type) else type(model)
    return BY_MODEL[cls]


def registered_events() -> list[EventSpec]:
    return sorted(REGISTRY.values(), key=lambda s: (s.aggregate_type, s.name, s.version))


def spec_for(name: str, version: int) -> EventSpec | None:
    return REGISTRY.get((name, version))


def parse_data(envelope: Envelope) -> EventData:
    """Validate the envelope's data against its registered contract."""
    spec = spec_for(envelope.type, envelope.version)
    if spec is None:
        raise KeyError(f"unknown event type {envelope.type} v{envelope.version}")
    return spec.model.model_validate(envelope.data)


def all_topics() -> list[str]:
    return sorted({s.topic for s in registered_events()})
