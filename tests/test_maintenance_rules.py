"""Recurrence rules and time zones of maintenance windows (shared/maintenance.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.maintenance import FOREVER, MAX_OCCURRENCES, WindowError, check_window, occurrences

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def expand(start, end, rule, tz, since=None, until=None):
    parsed = check_window(start, end, rule, tz)
    return occurrences(start, end, parsed, since or start, until or start + timedelta(days=400))


def test_berlin_sunday_0200_across_both_changes():
    start = datetime(2027, 3, 21, 2, 0, tzinfo=BERLIN)
    found, _ = expand(start, start + timedelta(hours=1), "FREQ=WEEKLY;BYDAY=SU", "Europe/Berlin")
    local = [s.astimezone(BERLIN) for s, _ in found]
    # every start is 02:00 Berlin time, except on the days 02:00 does not exist (03:00 CEST)
    shifted = [t.date().isoformat() for t in local if (t.hour, t.minute) != (2, 0)]
    assert shifted == ["2027-03-28", "2028-03-26"]
    assert local[1] == datetime(2027, 3, 28, 3, 0, tzinfo=BERLIN)
    assert [e - s for s, e in found] == [timedelta(hours=1)] * len(found)
    by_day = {s.astimezone(BERLIN).date().isoformat(): s for s, _ in found}
    assert by_day["2027-10-24"] == datetime(2027, 10, 24, 0, 0, tzinfo=UTC)
    assert by_day["2027-10-31"] == datetime(2027, 10, 31, 0, 0, tzinfo=UTC)  # the first 02:00
    assert by_day["2027-11-07"] == datetime(2027, 11, 7, 1, 0, tzinfo=UTC)


def test_monthly_first_in_new_york_and_until():
    start = datetime(2027, 1, 1, 23, 30, tzinfo=NEW_YORK)
    found, until = expand(
        start,
        start + timedelta(hours=2),
        "FREQ=MONTHLY;BYMONTHDAY=1;UNTIL=20270801T000000Z",
        "America/New_York",
    )
    assert [s.astimezone(NEW_YORK).day for s, _ in found] == [1] * 7
    assert {s.astimezone(NEW_YORK).hour for s, _ in found} == {23}
    assert until == FOREVER  # no occurrence after UNTIL: nothing more to materialise


def test_first_occurrence_counts_even_off_rule_and_count():
    start = datetime(2027, 1, 6, 10, 0, tzinfo=UTC)  # a Wednesday
    found, _ = expand(start, start + timedelta(hours=1), "FREQ=WEEKLY;BYDAY=SU;COUNT=2", "UTC")
    assert [s.day for s, _ in found] == [6, 10, 17]


def test_interval_and_a_window_of_its_horizon():
    start = datetime(2027, 1, 1, tzinfo=UTC)
    since = start + timedelta(days=30)
    found, until = expand(
        start,
        start + timedelta(hours=1),
        "FREQ=DAILY;INTERVAL=10",
        "UTC",
        since,
        since + timedelta(days=30),
    )
    assert [s.day for s, _ in found] == [31, 10, 20]
    assert until == since + timedelta(days=30)


def test_the_cap_on_occurrences():
    start = datetime(2027, 1, 1, tzinfo=UTC)
    found, until = expand(
        start,
        start + timedelta(minutes=30),
        "FREQ=HOURLY",
        "UTC",
        until=start + timedelta(days=800),
    )
    assert len(found) == MAX_OCCURRENCES
    assert until == found[-1][0] + timedelta(hours=1)


@pytest.mark.parametrize(
    ("rule", "tz", "word"),
    [
        ("FREQ=WEEKLY", "Nowhere/Land", "Nowhere/Land"),
        ("FREQ=WEEKLY;COUNT=2;UNTIL=20271231T000000Z", "UTC", "COUNT and UNTIL"),
        ("FREQ=WEEKLY;UNTIL=20271231", "UTC", "UNTIL"),
        ("FREQ=SECONDLY", "UTC", "FREQ"),
        ("FREQ=WEEKLY;BYDAY=SU;", "UTC", "rrule"),
        ("FREQ=WEEKLY\nEXDATE:20270101T000000Z", "UTC", "rrule"),
        ("FREQ=WEEKLY;COUNT=0", "UTC", "COUNT"),
    ],
)
def test_bad_rules_and_zones_are_named(rule, tz, word):
    start = datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(WindowError, match=word):
        check_window(start, start + timedelta(hours=1), rule, tz)
