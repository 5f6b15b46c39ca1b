"""Group lag and live members from what the broker answers (messaging/group_lag.py), without a broker."""

from __future__ import annotations

from hhpu_shared.messaging.group_lag import group_lag, live_members


def test_lag_is_end_minus_committed_and_earliest_where_nothing_was_committed() -> None:
    latest = {"p0": 10, "p1": 7, "p2": 5}
    earliest = {"p0": 0, "p1": 3, "p2": 0}
    # p0: 10 - 4; p1: never committed, so from its earliest retained offset, 7 - 3; p2: up to date.
    assert group_lag({"p0": 4, "p2": 5}, earliest, latest) == 6 + 4
    assert group_lag({}, earliest, latest) == 10 + 4 + 5
    # A committed offset past the end (a topic recreated) is no negative lag.
    assert group_lag({"p0": 12, "p1": 7, "p2": 5}, earliest, latest) == 0
    # -1: the broker's "no offset committed".
    assert group_lag({"p0": -1, "p1": 7, "p2": 5}, earliest, latest) == 10


def test_members_count_only_those_reading_the_groups_topics() -> None:
    described = {
        "members": [
            {"member_metadata": {"topics": ["ns1.hhpu.referral.events"]}},
            {"member_metadata": {"topics": ["ns2.hhpu.referral.events"]}},  # the same group id elsewhere
            {"member_metadata": {"topics": ["ns1.hhpu.case.events", "ns1.hhpu.referral.events"]}},
        ]
    }
    assert live_members(described, {"ns1.hhpu.referral.events"}) == 2
    assert live_members(described, {"ns3.hhpu.referral.events"}) == 0
    assert live_members({"group_state": "Dead", "members": []}, {"ns1.hhpu.referral.events"}) == 0
