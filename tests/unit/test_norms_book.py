"""The norms' measures on hand-computed cases: each worked example of docs/norms.md, from the events."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable

import pytest

from plumbing.calendar import DUTCH_TIME
from plumbing.organisation import Norm, Organisation, load_organisation
from schemas.calls import CallAbandoned, CallAnswered, CallEnded, CallTransferred
from schemas.cases import CaseExtended, CaseOpened, CaseResolved, CaseResumed, CaseSuspended
from schemas.contacts import QuestionAsked
from schemas.counter import AppointmentArrived, AppointmentBooked, AppointmentCalled, TicketCalled, TicketIssued
from schemas.envelope import CloudEvent
from schemas.feedback import SatisfactionScored
from schemas.norms import Window
from schemas.replies import FirstReplySent
from services.norms.book import NormBook
from tests.builders import decision, event

MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=DUTCH_TIME)
ids = itertools.count()


def book_with(*norms: dict, organisation: Organisation | None = None) -> NormBook:
    organisation = organisation or load_organisation()
    configured = [Norm(**{"id": f"n{i}", "title": "t", "below_target": "b", **n}) for i, n in enumerate(norms)]
    return NormBook(organisation.model_copy(update={"norms": tuple(configured)}))


def figure(book: NormBook, now: dt.datetime, norm: str = "n0", window: Window = Window.TODAY) -> float | None:
    return next(f.actual for f in book.figures(now) if f.norm == norm and f.window is window)


def observe(book: NormBook, events: Iterable[CloudEvent]) -> None:
    for e in events:
        book.observe(e)


def call(outcome: str, wait: float, at: dt.datetime = MONDAY, call_id: str | None = None) -> CloudEvent:
    call_id = call_id or f"call-{next(ids)}"
    common = dict(contact_id=call_id, call_reference=call_id, queue="kcc", wait_seconds=wait)
    if outcome == "answered":
        return event(CallAnswered, f"{call_id}:a", answered_at=at + dt.timedelta(seconds=wait), **common)
    return event(CallAbandoned, f"{call_id}:x", abandoned_at=at + dt.timedelta(seconds=wait), **common)


def the_example_calls() -> list[CloudEvent]:
    """docs/norms.md: 100 offered; 80 answered within 25 s, 10 later; abandoned 3 within 5 s, 4 within 25 s, 3
    after."""
    return ([call("answered", 10) for _ in range(80)] + [call("answered", 40) for _ in range(10)]
            + [call("abandoned", 2) for _ in range(3)] + [call("abandoned", 15) for _ in range(4)]
            + [call("abandoned", 60) for _ in range(3)])


PHONE_SL = dict(measure="phone-answered-within", channel="phone", threshold=25, unit="seconds", target=0.8)


def test_the_phone_service_level_both_ways_and_the_abandoned_share():
    book = book_with(PHONE_SL, {**PHONE_SL, "abandoned_in_time": "left-out"},
                     dict(measure="phone-abandoned", channel="phone", target=0.05))
    observe(book, the_example_calls())
    now = MONDAY + dt.timedelta(hours=1)
    assert figure(book, now, "n0") == pytest.approx(80 / 97)  # 82.5%
    assert figure(book, now, "n1") == pytest.approx(80 / 93)  # 86.0%
    assert figure(book, now, "n2") == pytest.approx(7 / 97)  # 7.2%
    met = {(f.norm, f.window): f.met for f in book.figures(now)}
    assert met[("n0", Window.TODAY)] is True and met[("n2", Window.TODAY)] is False


def test_a_redelivered_event_counts_once():
    book = book_with(PHONE_SL)
    once = call("answered", 40)
    observe(book, [once, once, call("answered", 5)])
    assert figure(book, MONDAY + dt.timedelta(hours=1)) == pytest.approx(1 / 2)


def test_transfers_counted_per_answered_call_when_it_ends():
    book = book_with(dict(measure="transfers-within", channel="phone", threshold=2, unit="times", target=1.0))
    for n in range(90):
        answered = call("answered", 5, call_id=f"t{n}")
        common = dict(contact_id=f"t{n}", call_reference=f"t{n}", queue="kcc")
        transfers = 1 if n < 12 else 3 if n < 14 else 0
        observe(book, [answered, *(event(CallTransferred, f"t{n}:{k}", transferred_at=MONDAY, to_queue="vergunningen",
                                         **common) for k in range(transfers))])
        if n < 89:  # one call still going: not counted yet
            observe(book, [event(CallEnded, f"t{n}:end", ended_at=MONDAY, talk_seconds=60, **common)])
    assert figure(book, MONDAY + dt.timedelta(hours=1)) == pytest.approx(87 / 89)


def question(channel: str, received: dt.datetime, contact: str) -> CloudEvent:
    return event(QuestionAsked, f"{contact}:q", contact_id=contact, channel=channel, text="Vraag", received_at=received)


def reply(channel: str, sent: dt.datetime, contact: str) -> CloudEvent:
    return event(FirstReplySent, f"{contact}:r", contact_id=contact, channel=channel, sent_at=sent,
                 reply_reference=f"r-{contact}")


def test_first_replies_within_two_working_days_counted_as_they_come_or_fall_due():
    book = book_with(dict(measure="first-reply-within", channel="email", threshold=2, unit="working-days",
                          target=0.85))
    wednesday, thursday = MONDAY + dt.timedelta(days=2, hours=8), MONDAY + dt.timedelta(days=3, hours=3)
    observe(book, [question("email", MONDAY, f"m{n}") for n in range(40)])
    observe(book, [question("web", MONDAY, "w1")])  # another channel: another norm's
    observe(book, [reply("email", wednesday, f"m{n}") for n in range(30)])
    on = dict(window=Window.LAST_7_DAYS)
    assert figure(book, wednesday + dt.timedelta(hours=4), **on) == pytest.approx(30 / 30)  # 10 not due yet
    observe(book, [reply("email", thursday, f"m{n}") for n in range(30, 35)])
    assert figure(book, thursday + dt.timedelta(hours=8), **on) == pytest.approx(30 / 40)  # 75%
    assert figure(book, thursday + dt.timedelta(hours=8)) is None  # the late ones count on Wednesday, when due


def test_letters_within_three_calendar_weeks():
    book = book_with(dict(measure="first-reply-within", channel="letter", threshold=3, unit="weeks", target=0.9))
    observe(book, [question("letter", MONDAY, "l1"), question("letter", MONDAY, "l2"),
                   reply("letter", MONDAY + dt.timedelta(days=20), "l1"),
                   reply("letter", MONDAY + dt.timedelta(days=22), "l2")])
    assert figure(book, MONDAY + dt.timedelta(days=25), window=Window.LAST_30_DAYS) == pytest.approx(1 / 2)


def visit_event(model: type[CloudEvent], visit: str, **data: object) -> CloudEvent:
    return event(model, f"{visit}:{model.__name__}", contact_id=visit, visit_reference=visit, queue="balie", **data)


def test_walk_ins_called_within_ten_minutes_and_one_still_waiting_past_them():
    book = book_with(dict(measure="walk-in-called-within", channel="counter", threshold=10, unit="minutes",
                          target=0.95))
    for n in range(50):
        observe(book, [visit_event(TicketIssued, f"v{n}", issued_at=MONDAY)])
        wait = 300 if n < 46 else 900
        if n < 49:
            observe(book, [visit_event(TicketCalled, f"v{n}", called_at=MONDAY + dt.timedelta(seconds=wait),
                                       wait_seconds=wait)])
    assert figure(book, MONDAY + dt.timedelta(minutes=12)) == pytest.approx(46 / 50)


def test_appointments_called_within_five_minutes_of_their_time_no_shows_left_out():
    book = book_with(dict(measure="appointment-called-within", channel="counter", threshold=5, unit="minutes",
                          target=0.9))
    for n in range(40):
        observe(book, [visit_event(AppointmentBooked, f"a{n}", booked_at=MONDAY - dt.timedelta(days=3),
                                   appointment_at=MONDAY)])
        if n >= 37:
            continue  # a no-show
        late = 120 if n < 33 else 600
        observe(book, [visit_event(AppointmentArrived, f"a{n}", arrived_at=MONDAY - dt.timedelta(minutes=5)),
                       visit_event(AppointmentCalled, f"a{n}", called_at=MONDAY + dt.timedelta(seconds=late),
                                   appointment_at=MONDAY)])
    assert figure(book, MONDAY + dt.timedelta(hours=1)) == pytest.approx(33 / 37)


def test_first_contact_resolution_referrals_and_repeat_contacts_from_the_decisions():
    book = book_with(dict(measure="first-contact-resolution", target=0.8), dict(measure="referrals", target=0.15),
                     dict(measure="repeat-contacts", threshold=7, unit="days", target=0.1))
    outcomes = ["answered"] * 62 + ["referred"] * 14 + ["escalated"] * 20 + ["linked"] * 4
    for n, outcome in enumerate(outcomes):
        book.observe(decision(f"q{n}", outcome=outcome, decided_at=MONDAY + dt.timedelta(minutes=n)))
    now = MONDAY + dt.timedelta(hours=3)
    assert (figure(book, now, "n0"), figure(book, now, "n1")) == (pytest.approx(0.76), pytest.approx(0.14))
    assert figure(book, now, "n2") is None  # anonymous questions cannot be recognised: no data
    party = "ab" * 32
    for n, (subject, days, repeat) in enumerate([("grofvuil", 0, False), ("paspoort", 1, False),
                                                 ("grofvuil", 3, True), ("grofvuil", 12, False)]):
        book.observe(decision(f"r{n}", party_pseudonym=party, subject_code=subject, repeat_contact=repeat,
                              decided_at=MONDAY - dt.timedelta(days=12) + dt.timedelta(days=days)))
    # The router flags a repeat (it knows the party's questions from before the norms' history began too).
    assert figure(book, now, "n2", Window.LAST_30_DAYS) == pytest.approx(1 / 4)


def case_event(model: type[CloudEvent], case: str, subject: str, at: dt.datetime, case_type: str = "x",
               **data: object) -> CloudEvent:
    common = dict(case_id=case, subject_code=subject, department="publiekszaken")
    match model.__name__:
        case "CaseOpened":
            return event(model, f"{case}:open", request_id=f"req-{case}", case_type=case_type, opened_at=at,
                         **common, **data)
        case "CaseResolved":
            return event(model, f"{case}:done", resolved_at=at, **common, **data)
    return event(model, f"{case}:{model.__name__}:{at.isoformat()}", status="in_progress", by="w1", changed_at=at,
                 **common, **data)


def test_callbacks_within_one_working_day_of_the_request():
    organisation = load_organisation()
    book = book_with(dict(measure="callback-within", threshold=1, unit="working-days", target=0.9),
                     organisation=organisation)
    callback = "paspoort-id"  # an agent's callback keeps the question's subject: its case type says callback
    kind = dict(case_type=organisation.subject(organisation.callback_subject).case_type)
    friday = MONDAY - dt.timedelta(days=3)
    due = dt.date(2026, 11, 24)
    observe(book, [case_event(CaseOpened, f"c{n}", callback, MONDAY, due_date=due, **kind) for n in range(5)])
    assert figure(book, MONDAY + dt.timedelta(hours=2), window=Window.LAST_7_DAYS) is None  # nothing due yet
    observe(book, [case_event(CaseResolved, "c0", callback, MONDAY + dt.timedelta(hours=30)),  # Tuesday: in time
                   case_event(CaseResolved, "c1", callback, MONDAY + dt.timedelta(days=2)),  # Wednesday: late
                   case_event(CaseOpened, "f1", callback, friday, due_date=due, **kind)])  # Friday's: by Monday
    wednesday = MONDAY + dt.timedelta(days=2, hours=2)
    # c2-c4 are overdue since Tuesday night; Friday's request was due by Monday night and is overdue too.
    assert figure(book, wednesday, window=Window.LAST_7_DAYS) == pytest.approx(1 / 6)



def test_a_callbacks_term_runs_from_the_request_not_from_when_its_case_was_stored():
    organisation = load_organisation()
    book = book_with(dict(measure="callback-within", threshold=1, unit="working-days", target=0.9),
                     organisation=organisation)
    kind = dict(case_type=organisation.subject(organisation.callback_subject).case_type)
    friday = MONDAY - dt.timedelta(days=3)
    # Asked on Friday, stored on Monday (the case service was away), called back on Tuesday: late, since the
    # term ended on Monday night; from the storing it would have been in time.
    observe(book, [case_event(CaseOpened, "r1", "paspoort-id", MONDAY, due_date=dt.date(2026, 11, 25),
                              requested_at=friday, **kind),
                   case_event(CaseResolved, "r1", "paspoort-id", MONDAY + dt.timedelta(hours=26))])
    assert figure(book, MONDAY + dt.timedelta(days=2), window=Window.LAST_7_DAYS) == 0.0


def test_complaints_within_their_legal_term_an_extension_and_a_suspension_move_it():
    organisation = load_organisation()
    complaint = next(s for s in organisation.subjects if s.kind.value == "complaint")
    book = book_with(dict(measure="complaints-within-term", target=1.0), organisation=organisation)
    term, extended, resumed = dt.date(2027, 1, 4), dt.date(2027, 2, 1), dt.date(2027, 2, 5)

    def on(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(12), DUTCH_TIME)

    def change(model: type[CloudEvent], case: str, day: dt.date, due: dt.date, suspended: bool = False) -> CloudEvent:
        return case_event(model, case, complaint.code, on(day), due_date=due, legal_due=due, suspended=suspended)

    observe(book, [case_event(CaseOpened, f"k{n}", complaint.code, MONDAY, case_type=complaint.case_type,
                              due_date=term, legal_due=term) for n in range(5)])
    observe(book, [change(CaseExtended, "k1", dt.date(2026, 12, 23), extended),
                   change(CaseSuspended, "k2", dt.date(2026, 12, 3), term, suspended=True),
                   change(CaseSuspended, "k4", dt.date(2026, 12, 3), term, suspended=True),
                   change(CaseExtended, "k4", dt.date(2026, 12, 10), extended, suspended=True)])
    assert figure(book, on(dt.date(2026, 12, 20)), window=Window.LAST_30_DAYS) is None  # none done, none due
    observe(book, [change(CaseSuspended, "k3", dt.date(2027, 1, 5), term, suspended=True),  # already overdue
                   case_event(CaseResolved, "k0", complaint.code, on(dt.date(2027, 1, 6))),  # late: a miss on Jan 4
                   case_event(CaseResolved, "k1", complaint.code, on(dt.date(2027, 1, 6)))])  # within its extension
    # k2 stood still from before its term ran out; k3's suspension came after: its miss stays.
    assert figure(book, on(dt.date(2027, 1, 7)), window=Window.LAST_7_DAYS) == pytest.approx(1 / 3)
    observe(book, [change(CaseResumed, "k2", dt.date(2027, 1, 8), resumed)])
    # k4, extended while suspended, stays suspended: its extended term (Feb 1) does not run yet. k2 is due Feb 5.
    assert figure(book, on(dt.date(2027, 2, 3)), window=Window.LAST_30_DAYS) == pytest.approx(1 / 1)


def test_satisfaction_is_the_mean_score_of_the_window_and_yesterday_is_the_trend():
    book = book_with(dict(measure="satisfaction", target=7.5))
    scores = [(8, 0), (7, 0), (9, 0), (6, 0), (8, 0), (5, -1), (6, -1)]
    observe(book, [event(SatisfactionScored, f"s{n}", contact_id=f"c{n}", channel="phone", score=score,
                         scored_at=MONDAY + dt.timedelta(days=day), response_reference=f"s{n}")
                   for n, (score, day) in enumerate(scores)])
    today = next(f for f in book.figures(MONDAY + dt.timedelta(hours=8)) if f.window is Window.TODAY)
    assert (today.actual, today.previous, today.met) == (pytest.approx(7.6), pytest.approx(5.5), True)


def test_what_is_told_twice_or_corrected_counts_once():
    book = book_with(dict(measure="transfers-within", channel="phone", threshold=2, unit="times", target=1.0),
                     dict(measure="satisfaction", target=7.5), PHONE_SL)
    common = dict(contact_id="t1", call_reference="t1", queue="kcc")
    twice = event(CallTransferred, "t1:transfer-2", transferred_at=MONDAY, to_queue="vergunningen", **common)
    observe(book, [call("answered", 5, call_id="t1"),
                   event(CallTransferred, "t1:transfer-1", transferred_at=MONDAY, to_queue="burgerzaken", **common),
                   twice, twice, event(CallEnded, "t1:end", ended_at=MONDAY, talk_seconds=60, **common)])
    first, corrected = (event(SatisfactionScored, f"s:{n}", contact_id="c1", channel="phone", score=score,
                              scored_at=MONDAY, response_reference="resp-1") for n, score in ((1, 4), (2, 9)))
    observe(book, [first, corrected, call("abandoned", 5.0)])  # an abandon at exactly 5 s is a short one
    now = MONDAY + dt.timedelta(hours=1)
    assert (figure(book, now, "n0"), figure(book, now, "n1"), figure(book, now, "n2")) == (1.0, 4.0, 1.0)


def test_a_reply_read_before_its_question_still_counts_in_time():
    book = book_with(dict(measure="first-reply-within", channel="web", threshold=2, unit="working-days", target=0.85))
    observe(book, [reply("web", MONDAY + dt.timedelta(hours=5), "w1"), question("web", MONDAY, "w1")])
    assert figure(book, MONDAY + dt.timedelta(days=5), window=Window.LAST_7_DAYS) == 1.0


def test_cases_within_their_service_norm_the_worked_example():
    organisation = load_organisation()
    book = book_with(dict(measure="cases-within-norm", target=0.9), organisation=organisation)
    due = dt.date(2026, 11, 30)
    observe(book, [case_event(CaseOpened, f"z{n}", "grofvuil", MONDAY, case_type="ophalen-grofvuil", due_date=due)
                   for n in range(50)])
    done = [(n, dt.date(2026, 11, 27)) for n in range(44)] + [(n, dt.date(2026, 12, 2)) for n in range(44, 47)]
    observe(book, [case_event(CaseResolved, f"z{n}", "grofvuil", dt.datetime.combine(day, dt.time(12), DUTCH_TIME))
                   for n, day in done])  # z47 open past its due date; z48 and z49 below get a later one
    observe(book, [case_event(CaseExtended, f"z{n}", "grofvuil", MONDAY + dt.timedelta(days=1),
                              due_date=dt.date(2026, 12, 14)) for n in (48, 49)])
    assert figure(book, dt.datetime(2026, 12, 3, 12, tzinfo=DUTCH_TIME), window=Window.LAST_30_DAYS) == \
        pytest.approx(44 / 48)
