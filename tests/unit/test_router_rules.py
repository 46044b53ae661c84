"""The one-desk rules, every one, on the pure domain."""

import datetime as dt

import pytest

from plumbing.calendar import TermCalendar
from schemas import Outcome, PartyRef, QuestionAsked, QuestionData
from services.router.domain import Classifier, PartyState, case_id_for, route
from tests.builders import SOURCE
from tests.org import TEST_ORGANISATION

CLASSIFIER = Classifier(TEST_ORGANISATION)
CALENDAR = TermCalendar.of(TEST_ORGANISATION)
MONDAY = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone.utc)
PARTY = PartyRef(pseudonym="a" * 64, identified_by="bsn")


def q(text=None, *, channel="web", subject_code=None, agent_outcome=None, received_at=MONDAY, party=PARTY):
    return QuestionData(contact_id="c-1", channel=channel, text=text, subject_code=subject_code, party=party,
                        agent_outcome=agent_outcome, received_at=received_at)


def event(question, question_id="e-1", source=SOURCE):
    return QuestionAsked.create(source=source, data=question, id=question_id, time=MONDAY)


def decide(question, state=None, question_id="e-1"):
    return route(event(question, question_id), state, classifier=CLASSIFIER, calendar=CALENDAR)


def test_subject_of_another_organisation_is_referred_with_its_contact_details():
    routing = decide(q("Vraag over mijn zorgtoeslag"))
    assert (routing.decision.outcome, routing.decision.rule) == (Outcome.REFERRED, "referral")
    assert routing.decision.referral.organisation == "Belastingdienst"
    assert routing.decision.referral.phone == "0800-0543"
    assert "0800-0543" in routing.decision.reason
    assert routing.case is None


def test_front_office_subject_is_answered_with_the_same_text_on_every_channel():
    answers = {decide(q("paspoort", channel=c)).decision.answer for c in ("phone", "web", "counter", "email")}
    assert answers == {"Maak een afspraak bij Burgerzaken."}
    routing = decide(q("paspoort"))
    assert (routing.decision.outcome, routing.decision.rule, routing.case) == (Outcome.ANSWERED,
                                                                               "front-office-answer", None)


def test_back_office_subject_escalates_with_due_date_in_working_days():
    routing = decide(q("kliko kapot"))
    assert (routing.decision.outcome, routing.decision.rule) == (Outcome.ESCALATED, "escalation")
    assert routing.case.department == "afval" and routing.case.case_type == "reparatie-container"
    assert routing.case.due_date == routing.decision.due_date == dt.date(2026, 11, 30)
    assert routing.case.case_id == routing.decision.case_id == case_id_for(event(q("kliko kapot")))
    assert "werkdagen" in routing.decision.reason


def test_due_date_skips_christmas_weekends_and_closing_days():
    tuesday = dt.datetime(2026, 12, 22, 10, 0, tzinfo=dt.timezone.utc)
    assert decide(q("kliko kapot", received_at=tuesday)).case.due_date == dt.date(2027, 1, 4)


def test_second_question_on_open_case_links_instead_of_opening():
    first = decide(q("kliko kapot"), question_id="e-1")
    second = decide(q("mijn container is nog steeds kapot"), first.state, question_id="e-2")
    assert (second.decision.outcome, second.decision.rule) == (Outcome.LINKED, "ask-once-link")
    assert second.decision.case_id == first.case.case_id
    assert second.case is None
    assert second.state.open_cases == first.state.open_cases


def test_redelivered_question_repeats_its_escalation_instead_of_linking_to_itself():
    first = decide(q("kliko kapot"), question_id="e-1")
    again = decide(q("kliko kapot"), first.state)
    assert again.decision.outcome is Outcome.ESCALATED
    assert again.case.case_id == first.case.case_id and again.case.due_date == first.case.due_date
    assert again.decision.repeat_contact is False
    assert (again.decision, again.case) == (first.decision, first.case)  # the very same, to the field


def test_resolved_case_no_longer_links():
    first = decide(q("kliko kapot"), question_id="e-1")
    closed = first.state.without_case(first.case.case_id)
    later = decide(q("kliko weer kapot"), closed, question_id="e-2")
    assert later.decision.outcome is Outcome.ESCALATED and later.case.case_id == case_id_for(event(q(), "e-2"))


def test_complaint_goes_to_the_complaints_desk_within_six_weeks():
    routing = decide(q("Ik wil een klacht indienen over de balie"))
    assert (routing.decision.rule, routing.case.department) == ("complaint", "klachten")
    assert routing.case.due_date == routing.case.legal_deadline == dt.date(2027, 1, 4)  # 23 Nov + 6 weeks
    assert routing.case.legal_basis == "Awb art. 9:11"


def test_correction_goes_to_the_registry_desk():
    routing = decide(q("Mijn naam is verkeerd gespeld"))
    assert (routing.decision.rule, routing.case.department) == ("correction", "brp")
    assert routing.case.due_date == dt.date(2026, 12, 7)  # service norm: 10 working days
    assert routing.case.legal_deadline == dt.date(2026, 12, 21)  # legal term: 4 weeks


def test_idea_goes_to_the_ideas_desk():
    routing = decide(q("Ik heb een idee voor het park"))
    assert (routing.decision.rule, routing.case.department) == ("idea", "kcc")


def test_callback_request_is_a_case_with_the_callback_norm():
    routing = decide(q("Wilt u mij terugbellen? bel mij terug"))
    assert (routing.decision.rule, routing.case.case_type) == ("callback", "terugbelverzoek")
    assert routing.case.due_date == dt.date(2026, 11, 25)  # 2 working days


def test_agent_callback_on_a_subject_goes_to_that_subjects_department():
    routing = decide(q("grofvuil", channel="phone", agent_outcome="callback"))
    assert (routing.decision.rule, routing.case.case_type, routing.case.department) == (
        "callback", "terugbelverzoek", "afval")


def test_unknown_subject_goes_to_the_generalist_desk_never_lost():
    routing = decide(q("Ik heb een vraag over de bomen"))
    assert (routing.decision.subject_code, routing.decision.rule) == ("algemeen", "general-subject")
    assert routing.case.department == "kcc" and routing.case.case_type == "algemene-vraag"


def test_agent_outcome_answered_wins_over_the_catalog_default():
    routing = decide(q("kliko kapot", channel="phone", agent_outcome="answered"))
    assert (routing.decision.outcome, routing.decision.rule, routing.case) == (Outcome.ANSWERED, "agent-outcome",
                                                                               None)


def test_agent_outcome_escalated_opens_a_case_for_a_front_office_subject():
    routing = decide(q("paspoort", channel="counter", agent_outcome="escalated"))
    assert (routing.decision.outcome, routing.decision.rule) == (Outcome.ESCALATED, "agent-outcome")
    assert routing.case.case_type == "reisdocument"


def test_agent_outcome_never_creates_a_duplicate_case():
    first = decide(q("kliko kapot"), question_id="e-1")
    second = decide(q("kliko kapot", channel="phone", agent_outcome="escalated"), first.state, question_id="e-2")
    assert second.decision.outcome is Outcome.LINKED and second.case is None


def test_repeat_contact_within_seven_days_is_flagged():
    first = decide(q("paspoort"), question_id="e-1")
    again = decide(q("paspoort", received_at=MONDAY + dt.timedelta(days=6)), first.state, question_id="e-2")
    later = decide(q("paspoort", received_at=MONDAY + dt.timedelta(days=8)), first.state, question_id="e-3")
    other = decide(q("kliko kapot", received_at=MONDAY + dt.timedelta(days=1)), first.state, question_id="e-4")
    assert (first.decision.repeat_contact, again.decision.repeat_contact) == (False, True)
    assert (later.decision.repeat_contact, other.decision.repeat_contact) == (False, False)


def test_same_event_id_from_another_source_is_another_question():
    from schemas.envelope import source_urn

    ours = route(event(q("kliko kapot")), classifier=CLASSIFIER, calendar=CALENDAR)
    theirs = route(event(q("kliko kapot"), source=source_urn("00000001999999999000", "cti")),
                   classifier=CLASSIFIER, calendar=CALENDAR)
    assert ours.case.case_id != theirs.case.case_id


def test_unknown_party_keeps_no_state():
    routing = decide(q("kliko kapot", party=None))
    assert routing.state is None and routing.case is not None


def test_recent_contacts_are_bounded():
    state = PartyState()
    for n in range(40):
        state = decide(q("paspoort", received_at=MONDAY + dt.timedelta(minutes=n)), state, f"e-{n}").state
    assert len(state.handled) == 30


def test_redelivery_after_the_case_was_resolved_repeats_the_decision_and_does_not_reopen():
    first = decide(q("kliko kapot"), question_id="e-1")
    resolved = first.state.without_case(first.case.case_id)
    again = decide(q("kliko kapot"), resolved, question_id="e-1")
    assert again.decision.outcome is Outcome.ESCALATED and again.case.case_id == first.case.case_id
    assert again.state == resolved  # no second effect: the resolved case stays closed


def test_redelivered_linked_question_stays_linked_to_its_case():
    first = decide(q("kliko kapot"), question_id="e-1")
    second = decide(q("kliko kapot"), first.state, question_id="e-2")
    later = second.state.without_case(first.case.case_id)
    third = decide(q("kliko kapot"), later, question_id="e-3")  # a new case after the first was resolved
    again = decide(q("kliko kapot"), third.state, question_id="e-2")
    assert (again.decision.outcome, again.decision.case_id, again.case) == (Outcome.LINKED, first.case.case_id, None)
    assert again.decision.repeat_contact == second.decision.repeat_contact


def test_redelivered_opener_is_not_linked_to_a_later_case():
    first = decide(q("kliko kapot"), question_id="e-1")
    later = decide(q("kliko kapot"), first.state.without_case(first.case.case_id), question_id="e-3")
    again = decide(q("kliko kapot"), later.state, question_id="e-1")
    assert again.decision.outcome is Outcome.ESCALATED and again.decision.case_id == first.case.case_id


def test_the_same_event_id_from_another_source_is_a_new_question_that_links():
    from schemas.envelope import source_urn

    first = decide(q("kliko kapot"), question_id="e-1")
    other = route(event(q("kliko kapot"), "e-1", source=source_urn("00000001999999999000", "cti")), first.state,
                  classifier=CLASSIFIER, calendar=CALENDAR)
    assert other.decision.outcome is Outcome.LINKED and other.decision.case_id == first.case.case_id


@pytest.mark.parametrize("text", ["Ik wil een klacht indienen", "Ik heb een vraag over de bomen",
                                  "Ik heb een idee", "bel mij terug"])
def test_complaints_ideas_callbacks_and_unknown_questions_are_never_linked(text):
    first = decide(q(text), question_id="e-1")
    second = decide(q(text), first.state, question_id="e-2")
    assert second.decision.outcome is Outcome.ESCALATED
    assert second.case.case_id != first.case.case_id


def test_an_agent_answer_wins_over_a_callback_subject():
    routing = decide(q("bel mij terug", channel="phone", agent_outcome="answered"))
    assert (routing.decision.outcome, routing.case) == (Outcome.ANSWERED, None)


def test_an_agent_outcome_counts_only_on_a_live_channel():
    routing = decide(q("kliko kapot", channel="email", agent_outcome="answered"))
    assert routing.decision.outcome is Outcome.ESCALATED


def test_an_agent_escalation_of_a_subject_without_an_answer_names_the_agent_rule():
    assert decide(q("kliko kapot", channel="phone", agent_outcome="escalated")).decision.rule == "agent-outcome"


def test_a_legal_term_ending_on_a_weekend_runs_to_the_next_working_day():
    saturday_received = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.timezone.utc)  # + 6 weeks = Saturday 9 January
    routing = decide(q("Ik wil een klacht indienen", received_at=saturday_received))
    assert routing.case.legal_deadline == routing.case.due_date == dt.date(2027, 1, 11)


def test_the_service_norm_never_runs_past_the_legal_term():
    import datetime as _dt

    from plumbing.organisation import Subject

    subject = Subject(code="x", title="X", department="kcc", case_type="x", norm_working_days=40,
                      legal_term_weeks=4)
    organisation = TEST_ORGANISATION.model_copy(update={"subjects": (subject, *TEST_ORGANISATION.subjects)})
    organisation.model_post_init(None)
    routing = route(event(q(subject_code="x")), classifier=Classifier(organisation), calendar=CALENDAR)
    assert routing.case.due_date == routing.case.legal_deadline == _dt.date(2026, 12, 21)


def test_a_complaint_whose_six_weeks_end_on_the_fifth_of_may_is_due_the_next_day():
    received = dt.datetime(2026, 3, 24, 10, 0, tzinfo=dt.timezone.utc)  # Tuesday; + 6 weeks = Tuesday 5 May
    routing = decide(q("Ik wil een klacht indienen", received_at=received))
    assert routing.case.legal_deadline == routing.case.due_date == dt.date(2026, 5, 6)
    assert "uiterlijk 06-05-2026" in routing.decision.reason


def test_a_legal_term_ending_on_a_closing_day_of_the_organisation_is_not_extended():
    # The 4-week correction term from Thursday 26 November 2026 ends on Thursday 24 December: a closing
    # day of the organisation, an ordinary day for the law. The 10-working-day norm comes first.
    received = dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.timezone.utc)
    routing = decide(q("Mijn naam is verkeerd gespeld", received_at=received))
    assert routing.case.legal_deadline == dt.date(2026, 12, 24)
    assert routing.case.due_date == dt.date(2026, 12, 10)


def test_the_state_keeps_times_on_the_standard_librarys_utc_whatever_the_question_was_parsed_with():
    """pydantic parses a time with a tzinfo of its own, which makes every comparison with a stored time and
    every encoding of the state many times slower; the state keeps the same instant on ``dt.timezone.utc``."""
    parsed = QuestionAsked.model_validate_json(event(q("Mijn kliko is kapot")).to_bytes().replace(
        b'"received_at":"2026-11-23T09:30:00Z"', b'"received_at":"2026-11-23T10:30:00+01:00"'))
    assert parsed.data.received_at.tzinfo is not dt.timezone.utc  # what the test is about
    first = route(parsed, None, classifier=CLASSIFIER, calendar=CALENDAR).state
    (handled,) = first.handled
    assert handled.received_at.tzinfo is dt.timezone.utc and handled.received_at == MONDAY
