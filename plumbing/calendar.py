"""The two calendars terms are counted on: the organisation's working days for service norms, and the
Algemene termijnenwet (Atw) for legal terms. They differ on purpose.

Service norm (servicenorm, a promise the organisation makes): Monday to Friday, not a Dutch public
holiday as the ``holidays`` package lists them, not one of the organisation's own closing days.
Whether 5 May is a day off is for each organisation (and its collective agreement) to decide; the
package lists it only in lustrum years (2025, 2030), and Loket keeps that: an organisation that
closes on 5 May in other years puts it among its ``closing_days``.

Legal term (wettelijke termijn): the law's calendar, the same for every organisation.
- Atw art. 3(1): the general recognised holidays are Nieuwjaarsdag, the Christian second Easter and
  Pentecost days, both Christmas days, Hemelvaartsdag, the day the King's birthday is celebrated
  (27 April, or 26 April when 27 April is a Sunday) and 5 May, every year; art. 3(2) puts Good Friday
  on a par with them; art. 3(3) lets a royal decree do so for other days (the organisation file's
  ``legal_designated_days``).
- Art. 1(1): a term ending on a Saturday, Sunday or such a holiday runs through the next day that is
  none of these. Art. 2: a term of at least three days is extended as far as needed to hold at least
  two such days. (Art. 1(2), terms counted backwards, does not arise: Loket counts forward.)
- Art. 4 leaves terms longer than 12 weeks or 90 days as they are.
The organisation's closing days never extend a legal term.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays
from dateutil.easter import easter

if TYPE_CHECKING:
    from plumbing.organisation import Organisation

_DAY = dt.timedelta(days=1)
#: Atw art. 4: the Act does not extend terms longer than these.
ATW_LONGEST_DAYS = 90
ATW_LONGEST_WEEKS = 12
#: Terms remembered per calendar, by start and length: the router asks for the same few again for every
#: question of a day. Far more than a year of days times the catalog's terms; beyond it they are counted anew.
REMEMBERED_TERMS = 20_000

#: Terms run on the Dutch calendar day.
DUTCH_TIME = ZoneInfo("Europe/Amsterdam")


def dutch_day(instant: dt.datetime | None = None) -> dt.date:
    """The Dutch calendar day of ``instant`` (by default now): the day a term starts or is counted on."""
    return instant.astimezone(DUTCH_TIME).date() if instant is not None else dt.datetime.now(DUTCH_TIME).date()


def last_weekday() -> dt.date:
    """The last weekday before today (Dutch time): a simulated day replayed there lies in the norms' 7- and 30-day
    windows, whatever day it is replayed on."""
    day = dt.datetime.now(DUTCH_TIME).date() - _DAY
    while day.weekday() >= 5:
        day -= _DAY
    return day


class WorkingDayCalendar:
    """The organisation's working days: Monday to Friday, not a Dutch public holiday, not a closing day."""

    def __init__(self, closing_days: Iterable[dt.date] = ()) -> None:
        self._closing_days = frozenset(closing_days)
        self._public_holidays = holidays.country_holidays("NL")
        self._known: dict[dt.date, bool] = {}
        self._added: dict[tuple[dt.date, int], dt.date] = {}  # every question of a day has the same due dates

    def is_working_day(self, day: dt.date) -> bool:
        known = self._known.get(day)
        if known is None:
            known = day.weekday() < 5 and day not in self._public_holidays and day not in self._closing_days
            self._known[day] = known  # a few thousand days at most: terms are weeks, not centuries
        return known

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start`` (start itself never counts)."""
        if days < 0:
            raise ValueError("days must not be negative")
        found = self._added.get((start, days))
        if found is None:
            if len(self._added) >= REMEMBERED_TERMS:
                self._added.clear()
            found = self._added[start, days] = self._count_working_days(start, days)
        return found

    def _count_working_days(self, start: dt.date, days: int) -> dt.date:
        day = start
        while days:
            day += _DAY
            if self.is_working_day(day):
                days -= 1
        return day


def atw_holidays(year: int) -> dict[dt.date, str]:
    """The general recognised holidays of Atw art. 3(1) in ``year``, with Good Friday (art. 3(2))."""
    easter_sunday = easter(year)
    kings_day = dt.date(year, 4, 27)
    if kings_day.weekday() == 6:  # celebrated on the Saturday before when 27 April is a Sunday
        kings_day = dt.date(year, 4, 26)
    return {
        dt.date(year, 1, 1): "Nieuwjaarsdag",
        easter_sunday - 2 * _DAY: "Goede Vrijdag",
        easter_sunday + _DAY: "Tweede Paasdag",
        kings_day: "Koningsdag",
        dt.date(year, 5, 5): "Bevrijdingsdag",
        easter_sunday + 39 * _DAY: "Hemelvaartsdag",
        easter_sunday + 50 * _DAY: "Tweede Pinksterdag",
        dt.date(year, 12, 25): "Eerste Kerstdag",
        dt.date(year, 12, 26): "Tweede Kerstdag",
    }


class LegalCalendar:
    """The Atw's calendar: which days are holidays and where a legal term ends."""

    def __init__(self, designated_days: Iterable[dt.date] = ()) -> None:
        self._designated = frozenset(designated_days)  # by royal decree, Atw art. 3(3)
        self._by_year: dict[int, frozenset[dt.date]] = {}
        self._ends: dict[tuple[dt.date, int, int], dt.date] = {}  # every question of a day has the same ends

    def is_holiday(self, day: dt.date) -> bool:
        """A general recognised holiday, Good Friday, or a day a decree puts on a par with them."""
        if day in self._designated:
            return True
        year = self._by_year.get(day.year)
        if year is None:
            year = self._by_year[day.year] = frozenset(atw_holidays(day.year))
        return day in year

    def is_ordinary_day(self, day: dt.date) -> bool:
        """Not a Saturday, Sunday or holiday: the days the Atw lets a term end on and counts in art. 2."""
        return day.weekday() < 5 and not self.is_holiday(day)

    def term_end(self, start: dt.date, *, days: int = 0, weeks: int = 0) -> dt.date:
        """The last day of a term of ``days`` or ``weeks`` from ``start`` (start itself never counts)."""
        if days < 0 or weeks < 0 or (days and weeks):
            raise ValueError("give days or weeks, not negative, not both")
        found = self._ends.get((start, days, weeks))
        if found is None:
            if len(self._ends) >= REMEMBERED_TERMS:
                self._ends.clear()
            found = self._ends[start, days, weeks] = self._term_end(start, days, weeks)
        return found

    def _term_end(self, start: dt.date, days: int, weeks: int) -> dt.date:
        length = days + 7 * weeks
        end = start + length * _DAY
        if days > ATW_LONGEST_DAYS or weeks > ATW_LONGEST_WEEKS:
            return end  # art. 4
        needs_two = length >= 3  # art. 2
        while not self.is_ordinary_day(end) or (needs_two and not self._two_ordinary_days(start, end)):
            end += _DAY  # art. 1, and art. 2 as far as needed
        return end

    def _two_ordinary_days(self, start: dt.date, end: dt.date) -> bool:
        found, day = 0, start
        while day < end and found < 2:
            day += _DAY
            found += self.is_ordinary_day(day)
        return found >= 2


@dataclass(frozen=True)
class TermCalendar:
    """Both calendars of one organisation, as the router needs them: norms and legal terms apart."""

    working: WorkingDayCalendar = field(default_factory=WorkingDayCalendar)
    legal: LegalCalendar = field(default_factory=LegalCalendar)

    @classmethod
    def of(cls, organisation: Organisation) -> TermCalendar:
        return cls(WorkingDayCalendar(organisation.closing_days), LegalCalendar(organisation.legal_designated_days))

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """A service norm's due date: ``days`` of the organisation's working days after ``start``."""
        return self.working.add_working_days(start, days)

    def legal_term_end(self, start: dt.date, *, weeks: int) -> dt.date:
        """The last day of a legal term of ``weeks`` from ``start``, by the Atw."""
        return self.legal.term_end(start, weeks=weeks)
