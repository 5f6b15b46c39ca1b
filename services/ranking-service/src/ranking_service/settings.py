"""Settings of the ranking-service (environment prefix ``RANKING_``)."""

from __future__ import annotations

from typing import Literal

from hhpu_shared.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class RankingSettings(ServiceSettings):  # type: ignore[misc, unused-ignore]
    model_config = SettingsConfigDict(env_prefix="RANKING_", extra="ignore")

    service_name: str = "ranking-service"
    port: int = 8002
    offence_store: Literal["table", "parquet"] = Field(
        default="table", description="rank_offence table, or one parquet file per import under data_dir"
    )
    production_model: str = Field(default="hh_recency_harm@2", description="model@version of production")
    shadow_models: list[str] = Field(default_factory=list, description="candidate models run beside it")
    weight_edition: str = "cchi-2020"
    weights_dir: str = Field(default="", description="extra weight editions (*.json) besides the packaged")
    top_n: int | None = 50
    top_share: float | None = None
    schedule_enabled: bool | None = Field(
        default=None,
        description="run the fortnightly schedule worker; unset: on, except in the test environment",
    )
    schedule_interval_days: int = Field(default=14, ge=1, description="length of a schedule period")
    schedule_check_s: float = Field(default=300.0, ge=0, description="how often the worker checks (0: off)")
    schedule_overdue_after_s: float = Field(
        default=6 * 3600.0, ge=0, description="a period's run is overdue this long after the period starts"
    )
    stale_after_days: int = Field(default=21, description="run is provisional if newest record is older")
    max_unmapped_share: float = Field(default=0.02, description="provisional above this unmapped share")
    big_mover_places: int = 10
    decline_quiet_days: int = Field(default=84, description="no new candidate event after a decline")
    breakdown_top: int = Field(default=3, description="offences kept per person in the breakdown")
    fairness_min_group: int = Field(
        default=30, ge=1, description="fewer scored people than this: too small to say anything"
    )
    fairness_alpha: float = Field(
        default=0.05, gt=0, lt=1, description="family-wise error rate of the fairness flags (Holm)"
    )

    @property
    def schedule_on(self) -> bool:
        """The schedule runs wherever the service is deployed unless switched off (tests: off)."""
        if self.schedule_enabled is not None:
            return self.schedule_enabled
        return self.environment != "test"
