"""A case's clocks across Dutch holidays: the service norm in working days, the legal term by the Atw, and
how suspension and extension move them (worked out by hand in the comments)."""

import datetime as dt

import pytest

from plumbing.calendar import LegalCalendar, TermCalendar, WorkingDayCalendar
from services.case.deadlines import DEFAULT_LEVELS, DeadlineRefused, alarms, extend, opened, resume, suspend

CALENDAR = TermCalendar()
D = dt.date


def complaint(on: dt.date, norm: int = 10):
    return opened(on, norm_working_days=norm, legal_weeks=6, legal_basis="Awb art. 9:11")


@pytest.mark.parametrize(("received", "due", "why"), [
    (D(2027, 3, 24), D(2027, 5, 7), "six weeks end on 5 May, an Atw holiday every year, then Ascension Day"),
    (D(2026, 11, 13), D(2026, 12, 28), "they end on Christmas: past Boxing Day and the weekend"),
    (D(2027, 4, 19), D(2027, 5, 31), "they end on an ordinary Monday"),
    (D(2027, 2, 15), D(2027, 3, 30), "they end on Easter Monday, an Atw holiday: the Tuesday after"),
])
def test_a_complaints_legal_term_is_six_weeks_ending_on_an_ordinary_day(received, due, why):
    assert complaint(received).legal_due(CALENDAR) == due, why


def test_the_service_norm_counts_working_days_past_easter():
    # From Wednesday 24 March 2027: 25, (26 Good Friday, weekend, 29 Easter Monday), 30, 31 March, 1, 2 April.
    assert opened(D(2027, 3, 24), norm_working_days=5).service_due(CALENDAR) == D(2027, 4, 2)


def test_the_service_norm_counts_working_days_past_koningsdag_ascension_and_closing_days():
    # From Monday 19 April 2027: 20, 21, 22, 23, 26, (27 Koningsdag), 28, 29, 30 April, 3, 4 May.
    assert complaint(D(2027, 4, 19)).service_due(CALENDAR) == D(2027, 5, 4)
    closed = TermCalendar(WorkingDayCalendar(closing_days=[D(2027, 4, 30)]), LegalCalendar())
    assert complaint(D(2027, 4, 19)).service_due(closed) == D(2027, 5, 5)  # the closing day does not count


def test_a_suspension_stops_both_clocks_and_the_resumption_moves_both_due_dates():
    # Suspended Thursday 22 April 2027 up to Thursday 29 April: seven days stood still, four of them working
    # days (22, 23, 26, 28; 27 is Koningsdag).
    resumed = resume(suspend(complaint(D(2027, 4, 19)), D(2027, 4, 22)), D(2027, 4, 29), CALENDAR)
    # 14 working days: ... 4 May (10), 5 (11), (6 May Ascension), 7 (12), 10 (13), 11 (14).
    assert resumed.service_due(CALENDAR) == D(2027, 5, 11)
    assert resumed.legal_due(CALENDAR) == D(2027, 6, 7)  # 42 + 7 days: Monday 7 June
    assert resumed.suspended_on is None


def test_an_extension_moves_only_the_legal_term_once_by_at_most_four_weeks_with_a_reason():
    case = complaint(D(2027, 4, 19))
    extended = extend(case, weeks=4, reason="advies van de klachtencommissie", on=D(2027, 5, 20), calendar=CALENDAR)
    assert extended.legal_due(CALENDAR) == D(2027, 6, 28)  # 70 days from 19 April
    assert extended.service_due(CALENDAR) == case.service_due(CALENDAR)
    assert extended.legal.extension_reason == "advies van de klachtencommissie"
    with pytest.raises(DeadlineRefused, match="once"):
        extend(extended, weeks=1, reason="nog een keer", on=D(2027, 5, 21), calendar=CALENDAR)
    with pytest.raises(DeadlineRefused, match="1 to 4 weeks"):
        extend(case, weeks=5, reason="te lang", on=D(2027, 5, 20), calendar=CALENDAR)
    with pytest.raises(DeadlineRefused, match="reason"):
        extend(case, weeks=2, reason="  ", on=D(2027, 5, 20), calendar=CALENDAR)
    with pytest.raises(DeadlineRefused, match="no longer"):
        extend(case, weeks=2, reason="te laat", on=D(2027, 6, 1), calendar=CALENDAR)
    with pytest.raises(DeadlineRefused, match="no legal term"):
        extend(opened(D(2027, 4, 19), norm_working_days=5), weeks=2, reason="x", on=D(2027, 4, 20),
               calendar=CALENDAR)


def test_suspension_and_resumption_follow_the_cases_state():
    case = complaint(D(2027, 4, 19))
    with pytest.raises(DeadlineRefused, match="not suspended"):
        resume(case, D(2027, 4, 20), CALENDAR)
    suspended = suspend(case, D(2027, 4, 22))
    with pytest.raises(DeadlineRefused, match="already"):
        suspend(suspended, D(2027, 4, 23))
    with pytest.raises(DeadlineRefused, match="before it was suspended"):
        resume(suspended, D(2027, 4, 21), CALENDAR)
    # Suspended and resumed on the day it was opened: no day that counted stood still.
    same_day = resume(suspend(case, D(2027, 4, 19)), D(2027, 4, 20), CALENDAR)
    assert same_day.legal_due(CALENDAR) == case.legal_due(CALENDAR)
    assert same_day.service_due(CALENDAR) == case.service_due(CALENDAR)


def _levels(deadlines, levels=DEFAULT_LEVELS, calendar=CALENDAR):
    return {(a.clock, a.level): a.due_on for a in alarms(deadlines, calendar, levels)}


def test_each_clock_warns_at_80_percent_breaches_on_its_due_date_and_escalates_at_half_its_term_again():
    found = _levels(complaint(D(2027, 4, 19)))  # norm 10 working days, six weeks by Awb 9:11
    # Service norm: 8 of 10 working days (Koningsdag left out) is Friday 30 April; 15 is 12 May (5 May counts,
    # as it does for the organisation's working days in 2027; Ascension, 6 May, does not).
    assert found["service", "warning"] == D(2027, 4, 30)
    assert found["service", "breached"] == D(2027, 5, 4) == complaint(D(2027, 4, 19)).service_due(CALENDAR)
    assert found["service", "escalated"] == D(2027, 5, 12)
    # Legal term: 34 of 42 days is 23 May; the due date is the Atw's (31 May); 21 days past it is 21 June.
    assert found["legal", "warning"] == D(2027, 5, 23)
    assert found["legal", "breached"] == D(2027, 5, 31)
    assert found["legal", "escalated"] == D(2027, 6, 21)


def test_levels_and_their_shares_are_configuration_and_a_norm_only_case_has_one_clock():
    found = _levels(opened(D(2026, 12, 21), norm_working_days=5), {"warning": 0.5, "breached": 1.0})
    # From Monday 21 December 2026: 22, 23, 24, (25, 26 Christmas, weekend), 28, 29.
    assert found == {("service", "warning"): D(2026, 12, 24), ("service", "breached"): D(2026, 12, 29)}


def test_a_suspension_and_an_extension_move_the_levels_not_yet_reached():
    case = complaint(D(2027, 4, 19))
    resumed = resume(suspend(case, D(2027, 4, 22)), D(2027, 4, 29), CALENDAR)
    moved = _levels(resumed)
    assert moved["service", "breached"] == resumed.service_due(CALENDAR) == D(2027, 5, 11)
    assert moved["legal", "breached"] == D(2027, 6, 7)
    extended = _levels(extend(case, weeks=4, reason="advies van de klachtencommissie", on=D(2027, 5, 20),
                              calendar=CALENDAR))
    assert extended["legal", "breached"] == D(2027, 6, 28)
    assert extended["service", "breached"] == D(2027, 5, 4)  # the promise stays


def test_a_closing_day_moves_the_service_levels_but_never_the_legal_ones():
    closed = TermCalendar(WorkingDayCalendar(closing_days=[D(2027, 4, 30)]), LegalCalendar())
    found, plain = _levels(complaint(D(2027, 4, 19)), calendar=closed), _levels(complaint(D(2027, 4, 19)))
    assert found["service", "warning"] == D(2027, 5, 3)
    assert {k: v for k, v in found.items() if k[0] == "legal"} == {k: v for k, v in plain.items() if k[0] == "legal"}
