"""The base of every event payload (kept apart so contracts never import the registry's cycle)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class EventData(BaseModel):
    """Base of every event payload: frozen and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
