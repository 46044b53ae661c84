"""Party state forgets what is too old to matter, so that it does not grow for ever."""

import datetime as dt

import pytest

from plumbing.calendar import TermCalendar
from plumbing.changelog import PartitionedState
from plumbing.kafka import CLOUDEVENT_HEADERS
from plumbing.settings import KafkaSettings
from schemas import PartyRef, QuestionAsked, QuestionData
from services.router.domain import Classifier
from services.router.domain.state import HANDLED_KEPT, Handled, OpenCaseRef, PartyState
from services.router.kafka import RouterRecords
from tests.builders import NOW, SOURCE
from tests.fakes import record
from tests.org import TEST_ORGANISATION


def handled(key: str, days_ago: float, before: dt.datetime = NOW) -> Handled:
    return Handled(question_key=key, subject_code="paspoort-id", received_at=before - dt.timedelta(days=days_ago),
                   outcome="answered")


def test_handled_questions_older_than_the_repeat_window_are_forgotten():
    state = PartyState(handled=(handled("old", 8), handled("recent", 2)))
    assert state.expired(NOW).handled == (handled("recent", 2),)


def test_a_party_with_nothing_recent_and_no_open_case_is_forgotten_altogether():
    assert PartyState(handled=(handled("old", HANDLED_KEPT.days + 1),)).expired(NOW) is None


def test_an_open_case_keeps_the_party_however_old_its_questions():
    case = OpenCaseRef(case_id="c-1", subject_code="container-kapot", opened_by="q", due_date=dt.date(2026, 1, 5))
    state = PartyState(open_cases=(case,), handled=(handled("old", 60),))
    assert state.expired(NOW) == PartyState(open_cases=(case,))


def test_a_state_with_nothing_to_forget_is_returned_as_it_is():
    state = PartyState(handled=(handled("recent", 1),))
    assert state.expired(NOW) is state


def test_the_router_forgets_by_the_latest_question_it_routed_not_by_the_wall_clock():
    state = PartitionedState("changelog")
    state.install({0: {}})
    records = RouterRecords(KafkaSettings(), state, "closures", classifier=Classifier(TEST_ORGANISATION),
                            calendar=TermCalendar(), source=SOURCE)
    latest = NOW - dt.timedelta(days=30)  # replaying last month's questions
    stale = PartyState(handled=(handled("old", 8, before=latest),)).to_bytes()
    assert records.expire(0, stale) is stale  # no question routed yet: no clock to forget by

    party = PartyRef(pseudonym="a" * 64, identified_by="bsn")
    data = QuestionData(contact_id="c-1", channel="web", subject_code="paspoort-id", party=party, received_at=latest)
    question = QuestionAsked.create(source=SOURCE, data=data, subject=party.pseudonym, time=NOW)
    records.question(record(0, 0, key=party.pseudonym.encode(), value=question.to_bytes(), topic="contacts",
                            headers=CLOUDEVENT_HEADERS))
    fresh = PartyState(handled=(handled("recent", 6, before=latest),)).to_bytes()
    assert records.expire(1, stale) is stale  # partition 1 has routed nothing: its clock has not started
    assert records.expire(0, stale) is None  # eight days before the latest question
    assert records.expire(0, fresh) is fresh  # six days before it: kept, though 36 days before the wall clock


def test_a_state_comes_back_from_its_stored_bytes_as_it_was():
    case = OpenCaseRef(case_id="c-1", subject_code="container-kapot", opened_by="q", due_date=dt.date(2026, 1, 5))
    state = PartyState(open_cases=(case,), handled=(handled("a", 1), Handled(question_key="b", subject_code="container-kapot", received_at=NOW,
                                                                       outcome="escalated", case_id="c-1",
                                                                       due_date=dt.date(2026, 1, 5), repeat_contact=True)))
    assert PartyState.from_bytes(state.to_bytes()) == state


def test_a_state_stored_as_json_by_an_earlier_router_is_read():
    stored = (b'{"open_cases":[{"case_id":"c-1","subject_code":"container-kapot","opened_by":"q",'
              b'"due_date":"2026-01-05"}],"handled":[{"question_key":"q","subject_code":"container-kapot",'
              b'"received_at":"2025-12-29T09:30:00.123456+01:00","outcome":"escalated","case_id":"c-1",'
              b'"due_date":"2026-01-05","repeat_contact":false}]}')
    state = PartyState.from_bytes(stored)
    assert state.open_cases == (OpenCaseRef(case_id="c-1", subject_code="container-kapot", opened_by="q",
                                            due_date=dt.date(2026, 1, 5)),)
    [earlier] = state.handled
    assert earlier.received_at == dt.datetime(2025, 12, 29, 8, 30, 0, 123456, tzinfo=dt.timezone.utc)
    assert (earlier.outcome, earlier.case_id, earlier.due_date) == ("escalated", "c-1", dt.date(2026, 1, 5))


@pytest.mark.parametrize("raw", [b"", b"\xc1", b'{"handled": 3}', b'{"somebody": []}', b"[1, 2]",
                                 b'{"handled":[{"question_key":"q","subject_code":"s",'
                                 b'"received_at":"2025-12-29T09:30:00","outcome":"answered"}]}'])
def test_bytes_that_are_no_party_state_are_refused_as_such(raw):
    with pytest.raises(ValueError, match="not a party state"):
        PartyState.from_bytes(raw)
