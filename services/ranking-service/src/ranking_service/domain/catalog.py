"""Versioned scoring-model configurations: ``name@version`` -> parameters.

A published configuration never changes; a new behaviour gets a new version. Runs store the
fully resolved parameters, so a run can be reproduced even if the catalogue grows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ranking_service.domain.weights import DOMAIN_BITS, SURREY_DOMAINS

Band = tuple[float, float]  # (threshold, points)


class ModelParams(BaseModel):
    """Parameters of one scoring model (all have defaults; a catalogue entry overrides some)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    algorithm: Literal["total_harm", "recency_harm", "rfg"] = "total_harm"
    lookback_days: int = Field(default=1095, ge=1, le=36500)
    half_life_days: float = Field(default=365.0, gt=0)
    high_harm_filter: Literal["none", "offences", "people"] = "none"
    domains: tuple[str, ...] = SURREY_DOMAINS
    outcome_weights: dict[str, float] = Field(default_factory=dict)
    exclude_codes: tuple[str, ...] = ()
    fallback_days: float | None = Field(default=None, ge=0)
    recency_bands: tuple[Band, ...] = ((90, 30), (180, 20), (365, 10), (36500, 5))
    frequency_bands: tuple[Band, ...] = ((1, 5), (2, 10), (5, 20), (10, 30))
    gravity_bands: tuple[Band, ...] = ((0, 5), (10, 10), (84, 20), (365, 30), (1000, 40))
    gravity_basis: Literal["sum", "max"] = "sum"
    use_victims: bool = False
    victim_bands: tuple[Band, ...] = ((2, 10), (3, 15))

    @field_validator("domains")
    @classmethod
    def _domains(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in v if d not in DOMAIN_BITS]
        if bad:
            raise ValueError(f"[unknown_domain] unknown harm domains: {', '.join(bad)}")
        return v

    @field_validator("recency_bands", "frequency_bands", "gravity_bands", "victim_bands")
    @classmethod
    def _bands(cls, v: tuple[Band, ...]) -> tuple[Band, ...]:
        thresholds = [t for t, _ in v]
        if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
            raise ValueError("[bands_not_ascending] band thresholds must be strictly ascending")
        return v

    @field_validator("outcome_weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        if any(w < 0 for w in v.values()):
            raise ValueError("[negative_weight] outcome weights must be >= 0")
        return v


CATALOG: dict[str, dict[str, object]] = {
    "total_harm@1": {"algorithm": "total_harm", "lookback_days": 730},
    "recency_harm@1": {"algorithm": "recency_harm", "lookback_days": 1095, "half_life_days": 365.0},
    "hh_recency_harm@1": {
        "algorithm": "recency_harm",
        "lookback_days": 1095,
        "half_life_days": 365.0,
        "high_harm_filter": "offences",
    },
    "rfg@1": {"algorithm": "rfg", "lookback_days": 1095},
    "rfgv@1": {"algorithm": "rfg", "lookback_days": 1095, "use_victims": True},
}


def split_ref(ref: str) -> tuple[str, str]:
    name, _, version = ref.partition("@")
    return name, version or "1"


def resolve(ref: str, overrides: dict[str, object] | None = None) -> ModelParams:
    """Parameters of catalogue model `ref` (``name@version``), with optional overrides."""
    name, version = split_ref(ref)
    key = f"{name}@{version}"
    if key not in CATALOG:
        raise KeyError(key)
    return ModelParams.model_validate({**CATALOG[key], **(overrides or {})})
