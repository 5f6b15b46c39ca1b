"""When a risk assessment falls due again, and which cases are overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# Days until the next assessment, by band (shorter for higher risk) [I: local policy, configurable].
INTERVAL_DAYS: dict[str, int] = {"very_high": 91, "high": 182, "medium": 273, "low": 365}
FIRST_ASSESSMENT_DAYS = 28  # a newly managed case needs its first assessment within four weeks


def next_due(assessed_on: date, band: str, intervals: dict[str, int] | None = None) -> date:
    table = intervals or INTERVAL_DAYS
    return assessed_on + timedelta(days=table.get(band, table["medium"]))


@dataclass(frozen=True)
class CaseRiskState:
    case_id: str
    managed_since: date | None
    latest_due: date | None  # next due date of the latest assessment, None when never assessed


def overdue(cases: list[CaseRiskState], today: date) -> list[dict[str, object]]:
    """Managed cases whose reassessment date has passed, most overdue first."""
    out: list[dict[str, object]] = []
    for c in cases:
        if c.latest_due is not None:
            due = c.latest_due
        elif c.managed_since is not None:
            due = c.managed_since + timedelta(days=FIRST_ASSESSMENT_DAYS)
        else:
            continue
        if due < today:
            out.append(
                {
                    "case_id": c.case_id,
                    "due": due.isoformat(),
                    "days_overdue": (today - due).days,
                    "never_assessed": c.latest_due is None,
                }
            )
    out.sort(key=lambda d: -int(str(d["days_overdue"])))
    return out
