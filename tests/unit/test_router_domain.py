"""The one-desk rules of the walking skeleton: classify, answer or escalate."""

import datetime as dt

from plumbing.calendar import WorkingDayCalendar
from plumbing.organisation import load_organisation
from schemas import Outcome, QuestionData
from services.router.domain import Classifier, case_id_for, route

ORG = load_organisation()
CALENDAR = WorkingDayCalendar(ORG.closing_days)
CLASSIFIER = Classifier(ORG)
NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone.utc)  # a Monday


def q(text=None, subject_code=None, channel="web", received_at=NOW):
    return QuestionData(contact_id="c-1", channel=channel, text=text, subject_code=subject_code,
                        received_at=received_at)


def test_channel_subject_code_wins_over_text():
    subject, how = CLASSIFIER.classify(q(text="mijn kliko is kapot", subject_code="grofvuil"))
    assert (subject.code, how) == ("grofvuil", "subject-code")


def test_keywords_match_without_case_or_accents():
    subject, how = CLASSIFIER.classify(q(text="Hoe vraag ik een nieuw PASPOÖRT aan?"))
    assert (subject.code, how) == ("paspoort-id", "keyword-match")


def test_most_keyword_hits_wins():
    subject, _ = CLASSIFIER.classify(q(text="de kliko is kapot en het deksel ook, en ik heb een matras"))
    assert subject.code == "container-kapot"


def test_tie_goes_to_the_subject_listed_first():
    # 'kapot' (container-kapot) and 'ophalen' (grofvuil) hit once each; container-kapot is listed first.
    subject, _ = CLASSIFIER.classify(q(text="kapot ophalen"))
    assert subject.code == "container-kapot"


def test_no_match_goes_to_the_general_subject_never_lost():
    routing = route("e-1", q(text="Ik heb een vraag over de bomen"), classifier=CLASSIFIER, calendar=CALENDAR, now=NOW)
    assert routing.decision.subject_code == "algemeen"
    assert routing.decision.rule == "general-subject"
    assert routing.case is not None and routing.case.department == "kcc-generalist"


def test_front_office_subject_is_answered_with_the_catalog_text():
    routing = route("e-1", q(text="paspoort verlopen"), classifier=CLASSIFIER, calendar=CALENDAR, now=NOW)
    assert routing.decision.outcome is Outcome.ANSWERED
    assert routing.decision.answer == ORG.subject("paspoort-id").answer
    assert routing.case is None


def test_answer_text_is_the_same_on_every_channel():
    answers = {route("e", q(text="paspoort", channel=c), classifier=CLASSIFIER, calendar=CALENDAR, now=NOW).decision.answer
               for c in ("phone", "web", "counter", "email")}
    assert len(answers) == 1


def test_back_office_subject_escalates_with_due_date_in_working_days():
    routing = route("e-1", q(text="kliko kapot"), classifier=CLASSIFIER, calendar=CALENDAR, now=NOW)
    assert routing.decision.outcome is Outcome.ESCALATED
    assert routing.case.case_type == "reparatie-container"
    assert routing.case.due_date == dt.date(2026, 11, 30)  # 5 working days after Monday 23 November
    assert routing.decision.case_id == routing.case.case_id == case_id_for("e-1")


def test_due_date_skips_christmas_and_closing_days():
    received = dt.datetime(2026, 12, 22, 10, 0, tzinfo=dt.timezone.utc)  # Tuesday
    routing = route("e-1", q(text="kliko kapot", received_at=received), classifier=CLASSIFIER, calendar=CALENDAR,
                    now=received)
    # 23 Dec, (24 closed), (25, 26 Christmas), (27 Sunday), 28, 29, 30, (31 closed), (1 Jan), 2 Jan is Saturday…
    assert routing.case.due_date == dt.date(2027, 1, 4)


def test_redelivered_question_mints_the_same_case():
    first = route("e-7", q(text="grofvuil"), classifier=CLASSIFIER, calendar=CALENDAR, now=NOW)
    again = route("e-7", q(text="grofvuil"), classifier=CLASSIFIER, calendar=CALENDAR, now=NOW + dt.timedelta(days=3))
    assert first.case.case_id == again.case.case_id
    assert first.case.due_date == again.case.due_date


def test_decision_explains_itself_in_dutch():
    routing = route("e-1", q(text="grofvuil ophalen"), classifier=CLASSIFIER, calendar=CALENDAR, now=NOW)
    assert "werkdagen" in routing.decision.reason
    assert routing.decision.rule == "escalation"
