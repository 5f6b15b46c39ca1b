"""The base of every event payload and the registration decorator.

Contracts import only this module; :mod:`hhpu_shared.events.registry` imports the contracts, so
there is no import loop between them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

PAST_TENSE_SUFFIXES = ("ed", "identified", "opened", "withdrawn", "made", "sent")


class EventData(BaseModel):
    """Base of every event payload: frozen; unknown fields are ignored, so a newer producer's
    optional field never dead-letters an older consumer during a rolling deploy."""

    model_config = ConfigDict(frozen=True, extra="ignore")


def topic_for(aggregate_type: str) -> str:
    return f"hhpu.{aggregate_type}.events"


def dlt_topic(topic: str) -> str:
    return f"{topic}.DLT"


@dataclass(frozen=True)
class EventSpec:
    name: str
    version: int
    aggregate_type: str
    model: type[EventData]

    @property
    def topic(self) -> str:
        return topic_for(self.aggregate_type)


REGISTRY: dict[tuple[str, int], EventSpec] = {}
BY_MODEL: dict[type[EventData], EventSpec] = {}

E = TypeVar("E", bound=type[EventData])


def register(name: str, *, aggregate: str, version: int = 1) -> Callable[[E], E]:
    """Class decorator: add an event model to the registry (name past tense, once per version)."""
    verb = name.rsplit(".", 1)[-1]
    if not verb.endswith(PAST_TENSE_SUFFIXES):
        raise ValueError(f"event names are past tense: {name}")

    def deco(cls: E) -> E:
        key = (name, version)
        if key in REGISTRY and REGISTRY[key].model is not cls:
            raise ValueError(f"event {name} v{version} registered twice")
        spec = EventSpec(name, version, aggregate, cls)
        REGISTRY[key] = spec
        BY_MODEL[cls] = spec
        return cls

    return deco
