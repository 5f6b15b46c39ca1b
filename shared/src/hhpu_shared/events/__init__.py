"""Event contracts: the envelope, the registry of event types and the topic convention."""

from hhpu_shared.events.envelope import Envelope, SubjectRef
from hhpu_shared.events.registry import (
    EventData,
    dlt_topic,
    event_spec,
    parse_data,
    registered_events,
    topic_for,
)

__all__ = [
    "Envelope",
    "EventData",
    "SubjectRef",
    "dlt_topic",
    "event_spec",
    "parse_data",
    "registered_events",
    "topic_for",
]
