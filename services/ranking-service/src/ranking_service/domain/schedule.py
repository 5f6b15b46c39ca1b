"""The fortnightly schedule: which period a date falls in, and what each period owes."""

from __future__ import annotations

from datetime import date

ANCHOR = date(2024, 1, 1)  # a Monday: periods start every `interval` days from here


def period_key(today: date, interval_days: int) -> tuple[str, date]:
    """The schedule key and first day of the period holding `today`."""
    n = (today - ANCHOR).days // interval_days
    start = date.fromordinal(ANCHOR.toordinal() + n * interval_days)
    return f"sched-{interval_days}d-{start.isoformat()}", start


def jobs(key: str, production_model: str, shadow_models: list[str]) -> list[tuple[str, str, str]]:
    """(kind, model, schedule key) of every run a period owes: production, then each shadow model."""
    return [("production", production_model, key)] + [("shadow", m, f"{key}-{m}") for m in shadow_models]
