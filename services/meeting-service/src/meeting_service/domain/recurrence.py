"""Recurring meeting series: when the next occurrence falls (pure date arithmetic)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class Rule:
    recurrence: str  # monthly (nth weekday of the month) | weekly | weekdays (Monday to Friday)
    weekday: int = 1  # 0 = Monday (monthly, weekly)
    ordinal: int = 1  # monthly: 1..4 or -1 for the last such weekday


def nth_weekday(year: int, month: int, weekday: int, ordinal: int) -> date:
    """The `ordinal`-th `weekday` of the month (ordinal -1 = the last one)."""
    days_in_month = calendar.monthrange(year, month)[1]
    if ordinal == -1:
        d = date(year, month, days_in_month)
        return d - timedelta(days=(d.weekday() - weekday) % 7)
    if not 1 <= ordinal <= 4:
        raise ValueError("ordinal must be 1..4 or -1")
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (ordinal - 1))


def next_occurrence(rule: Rule, after: date) -> date:
    """The first occurrence strictly after `after`."""
    if rule.recurrence == "weekdays":
        d = after + timedelta(days=1)
        while d.weekday() >= 5:
            d += timedelta(days=1)
        return d
    if rule.recurrence == "weekly":
        return after + timedelta(days=(rule.weekday - after.weekday() - 1) % 7 + 1)
    if rule.recurrence == "monthly":
        year, month = after.year, after.month
        while True:
            d = nth_weekday(year, month, rule.weekday, rule.ordinal)
            if d > after:
                return d
            month += 1
            if month == 13:
                year, month = year + 1, 1
    raise ValueError(f"unknown recurrence {rule.recurrence}")


def occurrences(rule: Rule, after: date, count: int) -> list[date]:
    out: list[date] = []
    d = after
    for _ in range(count):
        d = next_occurrence(rule, d)
        out.append(d)
    return out
