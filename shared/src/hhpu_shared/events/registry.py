"""One registry of event types: name (past tense), version, aggregate and frozen data model.

Topic convention: ``hhpu.<aggregate_type>.events``; poison messages go to ``<topic>.DLT``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from hhpu_shared.events.base import EventData
from hhpu_shared.events.envelope import Envelope

__all__ = ["EventData", "EventSpec", "register", "topic_for", "dlt_topic"]

PAST_TENSE_SUFFIXES = ("ed", "identified", "opened", "withdrawn", "made", "sent")


@dataclass(frozen=True)
class EventSpec:
    name: str
    version: int
    aggregate_type: str
    model: type[EventData]

    @property
    def topic(self) -> str:
        return topic_for(self.aggregate_type)


_REGISTRY: dict[tuple[str, int], EventSpec] = {}
_BY_MODEL: dict[type[EventData], EventSpec] = {}

E = TypeVar("E", bound=type[EventData])


def topic_for(aggregate_type: str) -> str:
    return f"hhpu.{aggregate_type}.events"


def dlt_topic(topic: str) -> str:
    return f"{topic}.DLT"


def register(name: str, *, aggregate: str, version: int = 1) -> Callable[[E], E]:
    """Class decorator: add an event model to the registry."""
    verb = name.rsplit(".", 1)[-1]
    if not verb.endswith(PAST_TENSE_SUFFIXES):
        raise ValueError(f"event names are past tense: {name}")

    def deco(cls: E) -> E:
        key = (name, version)
        if key in _REGISTRY and _REGISTRY[key].model is not cls:
            raise ValueError(f"event {name} v{version} registered twice")
        spec = EventSpec(name, version, aggregate, cls)
        _REGISTRY[key] = spec
        _BY_MODEL[cls] = spec
        return cls

    return deco


def _load_contracts() -> None:
    from hhpu_shared.events import contracts  # noqa: F401


def event_spec(model: type[EventData] | EventData) -> EventSpec:
    cls = model if isinstance(model, type) else type(model)
    _load_contracts()
    return _BY_MODEL[cls]


def registered_events() -> list[EventSpec]:
    _load_contracts()
    return sorted(_REGISTRY.values(), key=lambda s: (s.aggregate_type, s.name, s.version))


def spec_for(name: str, version: int) -> EventSpec | None:
    _load_contracts()
    return _REGISTRY.get((name, version))


def parse_data(envelope: Envelope) -> EventData:
    """Validate the envelope's data against its registered contract."""
    spec = spec_for(envelope.type, envelope.version)
    if spec is None:
        raise KeyError(f"unknown event type {envelope.type} v{envelope.version}")
    return spec.model.model_validate(envelope.data)


def all_topics() -> list[str]:
    return sorted({s.topic for s in registered_events()})


def data_of(envelope: Envelope, model: type[Any]) -> Any:
    """Parse and check the data is of the expected model (for handlers)."""
    data = parse_data(envelope)
    if not isinstance(data, model):
        raise TypeError(f"{envelope.type} is not {model.__name__}")
    return data
