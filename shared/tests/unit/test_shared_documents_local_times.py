"""Printed times and dates are the unit's (Europe/London), across summer and winter time and midnight."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hhpu_shared.documents import local_date, local_time


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # British Summer Time (UTC+1): a late-evening UTC time is already tomorrow in London
        ("2026-07-14T23:30:00+00:00", "15 Jul 2026"),
        ("2026-07-14T22:59:59+00:00", "14 Jul 2026"),
        ("2026-07-14T23:00:00Z", "15 Jul 2026"),
        ("2026-07-14T23:30:00", "15 Jul 2026"),  # naive timestamps are UTC
        (datetime(2026, 7, 14, 23, 30, tzinfo=UTC), "15 Jul 2026"),
        (datetime(2026, 7, 14, 23, 30), "15 Jul 2026"),
        # Greenwich Mean Time (UTC+0): the same UTC evening stays on its day
        ("2026-01-14T23:30:00+00:00", "14 Jan 2026"),
        ("2026-01-14T23:59:59.999999+00:00", "14 Jan 2026"),
        ("2026-01-15T00:00:00+00:00", "15 Jan 2026"),
        # an offset other than UTC is honoured: 00:30 in New York is 05:30 in London
        ("2026-01-15T00:30:00-05:00", "15 Jan 2026"),
        ("2026-01-14T20:30:00-05:00", "15 Jan 2026"),
        # the changes of clock: 31 Mar 2026 and 25 Oct 2026
        ("2026-03-28T23:30:00+00:00", "28 Mar 2026"),  # GMT still
        ("2026-03-29T23:30:00+00:00", "30 Mar 2026"),  # BST from 01:00 UTC on the 29th
        ("2026-10-24T23:30:00+00:00", "25 Oct 2026"),  # BST still
        ("2026-10-25T23:30:00+00:00", "25 Oct 2026"),  # GMT from 01:00 UTC on the 25th
        # a calendar date is a date: never shifted
        ("2026-07-14", "14 Jul 2026"),
        (date(2026, 7, 14), "14 Jul 2026"),
        (None, ""),
        ("", ""),
    ],
)
def test_local_date_is_the_london_date(value: object, expected: str) -> None:
    assert local_date(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-07-14T23:30:00+00:00", "Wed 15 Jul 2026 00:30"),
        ("2026-07-14T23:30:00", "Wed 15 Jul 2026 00:30"),
        ("2026-01-14T23:30:00+00:00", "Wed 14 Jan 2026 23:30"),
        ("2026-01-15T00:10:00+00:00", "Thu 15 Jan 2026 00:10"),
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "Sun 25 Oct 2026 01:30"),  # BST
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "Sun 25 Oct 2026 01:30"),  # GMT
        (None, ""),
    ],
)
def test_local_time_is_london_wall_clock(value: object, expected: str) -> None:
    assert local_time(value) == expected  # type: ignore[arg-type]


def test_local_time_and_local_date_agree_on_the_day() -> None:
    for stamp in ("2026-07-14T23:30:00+00:00", "2026-12-31T23:59:00+00:00", "2026-06-30T23:15:00Z"):
        day = datetime.strptime(local_time(stamp)[4:15], "%d %b %Y").date()
        assert local_date(stamp) == day.strftime("%d %b %Y"), stamp
