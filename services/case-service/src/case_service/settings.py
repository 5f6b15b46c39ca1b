"""Settings of the case-service (environment prefix ``CASE_``)."""

from __future__ import annotations

from hhpu_shared.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class CaseSettings(ServiceSettings):  # type: ignore[misc, unused-ignore]
    model_config = SettingsConfigDict(env_prefix="CASE_", extra="ignore")

    service_name: str = "case-service"
    port: int = 8003
    mosovo_cost_gbp: float = 471.25
    supervising_di_cost_gbp_per_year: float = 73433.0
    default_capacity_points: float = 30.0
    default_cohort: str = "hhpu"
    suitability_report_days: int = 14
    review_metric_interval_s: float = Field(
        default=300.0,
        ge=0,
        description="how often the count of people overdue for MoPI review is refreshed; 0 disables it",
    )
