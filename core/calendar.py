"""The one calendar: working days (not a 行政機関の休日: weekends, national holidays, 12/29-1/3)
and office hours of a Japanese public office.

Used by the demo traffic to decide when clerks work, and by misuse detection to flag what
happens outside those hours. Both must agree on what a working day is, so there is one place
that says it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import jpholiday

TOKYO = ZoneInfo("Asia/Tokyo")

# 地方公共団体の標準的な勤務時間 (8:30-17:15, 7 h 45 min with a lunch hour).
OFFICE_OPENS = dt.time(8, 30)
OFFICE_CLOSES = dt.time(17, 15)


def is_year_end_closure(day: dt.date) -> bool:
    """12月29日 to 1月3日: closed by law (行政機関の休日に関する法律 第1条第1項第3号)."""
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def is_working_day(day: dt.date) -> bool:
    """Not a 行政機関の休日: Monday to Friday, not a national holiday (jpholiday, which
    follows 国民の祝日に関する法律 with its substitute holidays), and not 12/29-1/3."""
    return day.weekday() < 5 and not jpholiday.is_holiday(day) and not is_year_end_closure(day)


def in_office_hours(moment: dt.datetime) -> bool:
    """True when moment (an aware datetime) falls on a working day between OFFICE_OPENS and
    OFFICE_CLOSES, Tokyo time."""
    local = moment.astimezone(TOKYO)
    return is_working_day(local.date()) and OFFICE_OPENS <= local.time() <= OFFICE_CLOSES


def office_minutes() -> int:
    """How many minutes an office day lasts, from opening to closing."""
    opens = OFFICE_OPENS.hour * 60 + OFFICE_OPENS.minute
    return OFFICE_CLOSES.hour * 60 + OFFICE_CLOSES.minute - opens


def office_moment(day: dt.date, minute: int, second: int = 0) -> dt.datetime:
    """The aware moment `minute` minutes after the office opens on day (Tokyo)."""
    opened = dt.datetime.combine(day, OFFICE_OPENS, TOKYO)
    return opened + dt.timedelta(minutes=minute, seconds=second)


def last_working_day(day: dt.date) -> dt.date:
    """day itself when it is a working day, else the last working day before it."""
    while not is_working_day(day):
        day -= dt.timedelta(days=1)
    return day
