"""The unit's clock: "today" is the date in Europe/London, wherever a date is compared with today
(input date bounds, overdue actions and reviews, a ranking's default as-of date, demo data), so a
date is "today" or "overdue" the same way on every path and server, whatever the host's time zone.

Europe/London is never behind UTC, so nothing dated today is in the future for UTC timestamps.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

UNIT_TZ = ZoneInfo("Europe/London")


def now() -> datetime:
    """The current time in the unit's time zone (a test moves the clock by replacing this)."""
    return datetime.now(UNIT_TZ)


def today() -> date:
    """The unit's date (Europe/London)."""
    return now().date()
