"""The versioned envelope every event travels in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SubjectRef(BaseModel):
    """Who or what the event is about, by reference only (never names)."""

    model_config = ConfigDict(frozen=True)

    type: str
    id: str


class Envelope(BaseModel):
    """Metadata around one event; `data` is validated against the registered contract."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    producer: str
    correlation_id: str
    causation_id: str | None = None
    aggregate_type: str
    aggregate_id: str
    subject: SubjectRef | None = None
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)
