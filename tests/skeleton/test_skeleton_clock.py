"""One "today" everywhere: the unit's date in Europe/London (hhpu_shared.clock), so whether an action
or a review is overdue, or a date is in the future, does not depend on the path or the server."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hhpu_shared import clock
from pydantic import TypeAdapter, ValidationError

ROOT = Path(__file__).resolve().parents[2]
# Late on 30 June by UTC is already 1 July in London (BST).
LATE_UTC = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)


@pytest.fixture
def late_evening(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: LATE_UTC.astimezone(clock.UNIT_TZ))


@pytest.mark.usefixtures("late_evening")
def test_every_service_path_has_the_same_london_today() -> None:
    from case_service.service import common as case_common
    from hhpu_shared.fields import BirthDate
    from meeting_service.domain.actions import is_overdue
    from meeting_service.service import actions as meeting_actions

    assert clock.today() == date(2026, 7, 1)
    assert case_common.today() == meeting_actions.today() == date(2026, 7, 1)  # UTC and host-local before
    # an action due on 30 June is overdue from the first minute of 1 July in London
    assert is_overdue("open", date(2026, 6, 30), meeting_actions.today())
    assert TypeAdapter(BirthDate).validate_python("2026-07-01") == date(2026, 7, 1)  # today, not future
    with pytest.raises(ValidationError, match="date_in_future"):
        TypeAdapter(BirthDate).validate_python("2026-07-02")


def test_no_service_asks_the_host_or_utc_for_today() -> None:
    """``date.today()`` is the host's zone, ``datetime.now(UTC).date()`` UTC's: both differ from the
    unit's date for an hour or two every night."""
    pattern = re.compile(r"date\.today\(\)|now\(UTC\)\.date\(\)|utcnow\(\)\.date\(\)")
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("services", "hhpu/src", "gateway/src", "shared/src")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "/tests/" not in str(path) and "/migrations/" not in str(path)
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert found == []
