"""The one calendar: 行政機関の休日 and office hours."""

import datetime as dt

import pytest

from core.calendar import TOKYO, in_office_hours, is_working_day, last_working_day, office_moment


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (dt.date(2026, 12, 28), True),  # Monday: the last working day of the year
        (dt.date(2026, 12, 29), False),  # Tuesday, but closed (年末年始)
        (dt.date(2026, 12, 31), False),
        (dt.date(2027, 1, 1), False),  # 元日 and closed
        (dt.date(2027, 1, 3), False),
        (dt.date(2027, 1, 4), True),  # Monday: 仕事始め
        (dt.date(2026, 5, 5), False),  # こどもの日 (a national holiday)
        (dt.date(2026, 5, 6), False),  # 振替休日 (substitute holiday: 5/3 was a Sunday)
        (dt.date(2026, 6, 13), False),  # Saturday
        (dt.date(2026, 6, 10), True),  # an ordinary Wednesday
    ],
)
def test_working_days_follow_the_law_on_the_holidays_of_public_offices(day, working):
    assert is_working_day(day) is working


def test_office_hours_are_8_30_to_17_15_on_working_days():
    wednesday = dt.date(2026, 6, 10)
    assert in_office_hours(office_moment(wednesday, 0))
    assert in_office_hours(dt.datetime(2026, 6, 10, 17, 15, tzinfo=TOKYO))
    assert not in_office_hours(dt.datetime(2026, 6, 10, 17, 16, tzinfo=TOKYO))
    assert not in_office_hours(dt.datetime(2026, 6, 10, 8, 29, tzinfo=TOKYO))
    assert not in_office_hours(dt.datetime(2026, 12, 29, 10, 0, tzinfo=TOKYO))
    # UTC instants are judged in Tokyo: 00:30 UTC is 9:30 JST.
    assert in_office_hours(dt.datetime(2026, 6, 10, 0, 30, tzinfo=dt.UTC))
    assert last_working_day(dt.date(2027, 1, 3)) == dt.date(2026, 12, 28)
