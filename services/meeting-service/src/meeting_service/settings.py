"""Meeting-service settings (environment prefix ``MEETING_``)."""

from __future__ import annotations

from hhpu_shared.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class MeetingSettings(ServiceSettings):  # type: ignore[misc, unused-ignore]
    model_config = SettingsConfigDict(env_prefix="MEETING_", extra="ignore")

    service_name: str = "meeting-service"
    port: int = 8004
    new_case_minutes: int = Field(default=8, ge=1, le=120, description="time box of a new-case item")
    review_minutes: int = Field(default=5, ge=1, le=120, description="time box of a review item")
    overdue_action_minutes: int = Field(default=3, ge=1, le=120, description="time box of an overdue action")
    other_minutes: int = Field(default=5, ge=1, le=120, description="time box of any other item")
    new_case_meeting_type: str = Field(
        default="monthly_mam", description="meeting type whose next meeting receives new cases and reviews"
    )
    default_series_weekday: int = Field(default=1, ge=0, le=6, description="0=Monday; default monthly series")
    default_series_ordinal: int = Field(
        default=1, ge=-1, le=4, description="nth weekday of the month; -1=last"
    )
    default_series_time: str = "10:00"
    overdue_sweep_interval_s: float = Field(
        default=3600.0,
        ge=0,
        description="how often the overdue sweep runs (one replica at a time on PostgreSQL); 0 disables it",
    )

    def minutes_for(self, kind: str) -> int:
        """The time box of an agenda item of this kind."""
        return {
            "new_case": self.new_case_minutes,
            "review": self.review_minutes,
            "overdue_action": self.overdue_action_minutes,
        }.get(kind, self.other_minutes)
