"""Working days: Dutch public holidays (from the ``holidays`` package) plus the organisation's closing days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import holidays


class WorkingDayCalendar:
    """Counts working days: Monday to Friday, not a Dutch public holiday, not a closing day."""

    def __init__(self, closing_days: Iterable[dt.date] = ()) -> None:
        self._closing_days = frozenset(closing_days)
        self._public_holidays = holidays.country_holidays("NL")
        self._known: dict[dt.date, bool] = {}

    def is_working_day(self, day: dt.date) -> bool:
        known = self._known.get(day)
        if known is None:
            known = day.weekday() < 5 and day not in self._public_holidays and day not in self._closing_days
            self._known[day] = known  # a few thousand days at most: terms are weeks, not centuries
        return known

    def working_day_on_or_after(self, day: dt.date) -> dt.date:
        """A term ending on a weekend or holiday runs to the next working day (Algemene termijnenwet art. 1)."""
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (start itself never counts)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        while days:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return day
