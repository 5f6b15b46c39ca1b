"""Versioned scoring-model configurations: ``name@version`` -> parameters.

A published configuration never changes; a new behaviour gets a new version. Runs store the
fully resolved parameters, so a run can be reproduced even if the catalogue grows.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ranking_service.domain.weights import DOMAIN_BITS, HIGH_HARM_DOMAINS, SURREY_DOMAINS

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
    rfg_scale: Literal["bands", "continuous"] = Field(
        default="bands", description="RFG points from bands, or continuous on the same point scale"
    )
    recency_max_points: float = Field(default=30.0, ge=0)
    recency_half_life_days: float = Field(default=180.0, gt=0)
    frequency_max_points: float = Field(default=30.0, ge=0)
    frequency_cap: float = Field(default=10.0, gt=0)
    gravity_max_points: float = Field(default=40.0, ge=0)
    gravity_cap_days: float = Field(default=5475.0, gt=0)
    victim_max_points: float = Field(default=15.0, ge=0)
    victim_cap: float = Field(default=3.0, gt=1)

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
    "hh_recency_harm@2": {
        "algorithm": "recency_harm",
        "lookback_days": 1095,
        "half_life_days": 365.0,
        "high_harm_filter": "offences",
        "domains": HIGH_HARM_DOMAINS,
    },
    "rfg@1": {"algorithm": "rfg", "lookback_days": 1095},
    "rfgv@1": {"algorithm": "rfg", "lookback_days": 1095, "use_victims": True},
    "rfg@2": {"algorithm": "rfg", "lookback_days": 1095, "rfg_scale": "continuous"},
    "rfgv@2": {"algorithm": "rfg", "lookback_days": 1095, "rfg_scale": "continuous", "use_victims": True},
}
DESCRIPTIONS: dict[str, str] = {
    "total_harm@1": "sum of CCHI days of the offences in the last 730 days",
    "recency_harm@1": "sum of CCHI days halved every 365 days of age, 1095-day window",
    "hh_recency_harm@1": "recency harm over the Surrey high-harm domains only (superseded by @2)",
    "hh_recency_harm@2": (
        "production: recency harm over the high-harm domains (serious violence, sexual offences, domestic "
        "abuse, child abuse, hate crime, stalking and harassment, robbery); offences with unmapped codes "
        "count with the fallback weight"
    ),
    "rfg@1": "recency + frequency + gravity points from bands (coarse: many ties)",
    "rfgv@1": "as rfg@1 plus points for distinct victims",
    "rfg@2": "recency + frequency + gravity on continuous scales (same 0-100 point range, few ties)",
    "rfgv@2": "as rfg@2 plus continuous points for distinct victims (0-15)",
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
    base = ModelParams.model_validate(CATALOG[key])
    if not overrides:
        return base
    # A client's overrides are JSON and validated strictly: `true` is not 1, "30" is not 30.
    merged = {**base.model_dump(mode="json"), **overrides}
    return ModelParams.model_validate_json(json.dumps(merged), strict=True)
