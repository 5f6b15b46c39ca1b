"""API models of the data protection decisions (erasure, restriction) about a person."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErasureOutcome(BaseModel):
    person_id: str | None = Field(description="the person held here (none for an erasure by reference)")
    decision_id: str = Field(description="the decision every service applies (person.erased)")
    references: list[str] = Field(description="every reference of the person, erased everywhere")
    removed: dict[str, int] = Field(description="rows removed or emptied here, by kind of record")


class RestrictionOutcome(BaseModel):
    person_id: str
    restricted: bool
    decision_id: str = Field(description="the decision every service applies (person.restricted)")
