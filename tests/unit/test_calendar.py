"""Legal terms by the Algemene termijnenwet (Atw), and service norms on the organisation's own working days.

Every date below was worked out by hand (Easter by the anonymous Gregorian algorithm, weekdays from
1 January 2026 being a Thursday), never by the code under test.
"""

import datetime as dt

import holidays
import pytest

from plumbing.calendar import LegalCalendar, TermCalendar, WorkingDayCalendar, atw_holidays
from plumbing.organisation import load_organisation
from tests.org import TEST_ORGANISATION

D = dt.date
LAW = LegalCalendar()

#: Atw art. 3(1) and 3(2), year by year: Nieuwjaarsdag, Goede Vrijdag, Tweede Paasdag, Koningsdag,
#: 5 mei, Hemelvaartsdag, Tweede Pinksterdag, Eerste en Tweede Kerstdag.
HOLIDAYS_BY_HAND = {
    2026: [D(2026, 1, 1), D(2026, 4, 3), D(2026, 4, 6), D(2026, 4, 27), D(2026, 5, 5), D(2026, 5, 14),
           D(2026, 5, 25), D(2026, 12, 25), D(2026, 12, 26)],
    2027: [D(2027, 1, 1), D(2027, 3, 26), D(2027, 3, 29), D(2027, 4, 27), D(2027, 5, 5), D(2027, 5, 6),
           D(2027, 5, 17), D(2027, 12, 25), D(2027, 12, 26)],
    2028: [D(2028, 1, 1), D(2028, 4, 14), D(2028, 4, 17), D(2028, 4, 27), D(2028, 5, 5), D(2028, 5, 25),
           D(2028, 6, 5), D(2028, 12, 25), D(2028, 12, 26)],
    2029: [D(2029, 1, 1), D(2029, 3, 30), D(2029, 4, 2), D(2029, 4, 27), D(2029, 5, 5), D(2029, 5, 10),
           D(2029, 5, 21), D(2029, 12, 25), D(2029, 12, 26)],
    2030: [D(2030, 1, 1), D(2030, 4, 19), D(2030, 4, 22), D(2030, 4, 27), D(2030, 5, 5), D(2030, 5, 30),
           D(2030, 6, 10), D(2030, 12, 25), D(2030, 12, 26)],
}
WEEKDAYS_BY_HAND = {  # the same days' weekdays, in the same order
    2026: "Thu Fri Mon Mon Tue Thu Mon Fri Sat",
    2027: "Fri Fri Mon Tue Wed Thu Mon Sat Sun",
    2028: "Sat Fri Mon Thu Fri Thu Mon Mon Tue",
    2029: "Mon Fri Mon Fri Sat Thu Mon Tue Wed",
    2030: "Tue Fri Mon Sat Sun Thu Mon Wed Thu",
}


@pytest.mark.parametrize("year", sorted(HOLIDAYS_BY_HAND))
def test_the_atw_holidays_of_each_year_are_exactly_the_ones_worked_out_by_hand(year):
    days = HOLIDAYS_BY_HAND[year]
    assert " ".join(day.strftime("%a") for day in days) == WEEKDAYS_BY_HAND[year]
    assert sorted(atw_holidays(year)) == days
    assert not any(LAW.is_ordinary_day(day) for day in days)


@pytest.mark.parametrize("year", [2026, 2027, 2028])
def test_the_fifth_of_may_is_a_holiday_for_the_law_every_year(year):
    fifth_of_may = D(year, 5, 5)  # a Tuesday, a Wednesday, a Friday
    assert LAW.is_holiday(fifth_of_may) and not LAW.is_ordinary_day(fifth_of_may)
    # Why the law needs its own list: the holidays package has Bevrijdingsdag in lustrum years only.
    assert fifth_of_may not in holidays.country_holidays("NL")
    assert WorkingDayCalendar().is_working_day(fifth_of_may)


def test_kings_day_moves_to_the_saturday_before_when_27_april_is_a_sunday():
    assert D(2025, 4, 27).strftime("%a") == D(2031, 4, 27).strftime("%a") == "Sun"
    for year in (2025, 2031):
        assert D(year, 4, 26) in atw_holidays(year) and D(year, 4, 27) not in atw_holidays(year)
    for year in range(2026, 2031):  # 27 April is a Monday, Tuesday, Thursday, Friday, Saturday
        assert D(year, 4, 27) in atw_holidays(year) and D(year, 4, 26) not in atw_holidays(year)


def test_a_term_ending_on_the_fifth_of_may_runs_to_the_next_day():
    assert LAW.term_end(D(2026, 3, 24), weeks=6) == D(2026, 5, 6)  # Tue 24 March + 6 weeks = Tue 5 May


@pytest.mark.parametrize("start,end", [
    (D(2026, 11, 28), D(2027, 1, 11)),  # + 6 weeks = Saturday 9 January → Monday
    (D(2026, 2, 23), D(2026, 4, 7)),  # + 6 weeks = Easter Monday 6 April → Tuesday
    (D(2026, 3, 16), D(2026, 4, 28)),  # + 6 weeks = Koningsdag, Monday 27 April → Tuesday
    (D(2026, 11, 10), D(2026, 12, 22)),  # + 6 weeks = Tuesday 22 December, an ordinary day: as it is
    (D(2027, 11, 13), D(2027, 12, 27)),  # + 6 weeks = Christmas Day, a Saturday, then Sunday 26 → Monday 27
])
def test_a_term_ending_on_a_weekend_or_holiday_runs_through_the_next_ordinary_day(start, end):
    assert LAW.term_end(start, weeks=6) == end


def test_a_three_day_term_holds_at_least_two_ordinary_days():
    # From Thursday 2 April 2026: Good Friday, Saturday, Sunday; art. 1 alone stops after Easter Monday
    # on Tuesday 7 April, which holds one ordinary day; art. 2 runs on to Wednesday 8 April.
    assert LAW.term_end(D(2026, 4, 2), days=3) == D(2026, 4, 8)
    # From Wednesday 13 May 2026: Ascension, Friday, Saturday → Monday 18, holding Friday and Monday.
    assert LAW.term_end(D(2026, 5, 13), days=3) == D(2026, 5, 18)


def test_a_term_shorter_than_three_days_is_only_moved_off_a_weekend_or_holiday():
    assert LAW.term_end(D(2026, 4, 2), days=2) == D(2026, 4, 7)  # Saturday 4 → past Easter Monday


def test_a_day_decreed_equal_to_a_holiday_extends_a_term():
    decreed = LegalCalendar([D(2026, 5, 15)])  # the Friday after Ascension
    assert decreed.term_end(D(2026, 5, 13), days=3) == D(2026, 5, 19)  # Monday 18 is the only ordinary day
    assert decreed.term_end(D(2026, 4, 3), weeks=6) == D(2026, 5, 18)  # + 6 weeks = Friday 15 May


def test_the_decreed_days_come_from_the_organisation_file():
    organisation = load_organisation()
    assert D(2026, 5, 15) in organisation.legal_designated_days
    assert TermCalendar.of(organisation).legal_term_end(D(2026, 4, 3), weeks=6) == D(2026, 5, 18)


def test_a_closing_day_of_the_organisation_never_extends_a_legal_term_but_shifts_a_service_norm():
    calendar = TermCalendar.of(TEST_ORGANISATION)  # closed on 24 and 31 December 2026
    assert calendar.legal_term_end(D(2026, 11, 12), weeks=6) == D(2026, 12, 24)  # Thursday 24 December
    assert calendar.legal.term_end(D(2026, 12, 23), days=3) == D(2026, 12, 28)  # holds Thursday 24 and Monday 28
    assert calendar.add_working_days(D(2026, 12, 23), 1) == D(2026, 12, 28)  # 24 closed, Christmas, weekend


def test_terms_longer_than_twelve_weeks_are_left_as_they_are():
    assert LAW.term_end(D(2026, 11, 28), weeks=12) == D(2027, 2, 22)  # Saturday 20 February → Monday
    assert LAW.term_end(D(2026, 11, 28), weeks=13) == D(2027, 2, 27)  # Saturday, Atw art. 4


def test_a_term_is_given_in_days_or_weeks():
    with pytest.raises(ValueError):
        LAW.term_end(D(2026, 1, 5), days=3, weeks=1)
    with pytest.raises(ValueError):
        LAW.term_end(D(2026, 1, 5), days=-1)
