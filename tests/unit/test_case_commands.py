"""The back office's rules on a case, pure: who may claim, release, transfer, suspend, resume, extend, resolve
and note, what each does to the case and its clocks, and which events announce it."""

import datetime as dt
import json
from dataclasses import replace

import pytest

from plumbing.calendar import DUTCH_TIME, TermCalendar
from schemas.topics import CASE_EVENTS
from services.case.commands import CaseRules, CaseState, Conflict, Invalid, NotAllowed, Role, Status, Worker
from tests.builders import SOURCE

D = dt.date
RULES = CaseRules(source=SOURCE, calendar=TermCalendar(), departments=["klachten", "afval", "kcc"])
ANNA = Worker("anna", frozenset({"klachten"}), Role.WORKER)
BOB = Worker("bob", frozenset({"klachten"}), Role.WORKER)
CORA = Worker("cora", frozenset({"klachten"}), Role.COORDINATOR)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=DUTCH_TIME)


def complaint(**changes: object) -> CaseState:
    """A complaint of Monday 19 April 2027: ten working days' norm (due 4 May, past Koningsdag), six weeks'
    legal term by Awb 9:11 (due Monday 31 May)."""
    case = CaseState(case_id="z-1", case_type="klacht", department="klachten", subject_code="klacht",
                     party_pseudonym="ab" * 32, priority="normal", status=Status.REGISTERED, assignee=None, version=1,
                     opened_on=D(2027, 4, 19), norm_working_days=10, service_due=D(2027, 5, 4),
                     legal_due=D(2027, 5, 31), legal_days=42, legal_basis="Awb art. 9:11")
    return replace(case, **changes)


def events(outcome) -> list[tuple[str, str, dict]]:
    return [(m.topic, m.event_type, json.loads(m.value)) for m in outcome.messages]


def test_claiming_a_registered_case_puts_it_in_progress_with_the_worker_and_announces_it():
    outcome = RULES.claim(complaint(), ANNA, at(D(2027, 4, 20)))
    assert (outcome.case.status, outcome.case.assignee, outcome.case.version) == (Status.IN_PROGRESS, "anna", 2)
    assert (outcome.entry.action, outcome.entry.by, outcome.entry.status) == ("claimed", "anna", "in_progress")
    [(topic, kind, event)] = events(outcome)
    assert (topic, kind, event["id"]) == (CASE_EVENTS.name, "nl.loket.cases.case-claimed", "z-1:claimed:2")
    assert event["data"]["assignee"] == "anna" and event["data"]["status"] == "in_progress"


def test_claiming_a_case_someone_else_holds_is_a_conflict_even_for_a_coordinator():
    held = complaint(status=Status.IN_PROGRESS, assignee="bob")
    for worker in (ANNA, CORA):
        with pytest.raises(Conflict, match="held by bob"):
            RULES.claim(held, worker, at(D(2027, 4, 20)))
    with pytest.raises(Conflict, match="already"):
        RULES.claim(held, BOB, at(D(2027, 4, 20)))


def test_only_the_holder_or_a_coordinator_releases_a_case_and_it_goes_back_to_the_queue():
    held = complaint(status=Status.IN_PROGRESS, assignee="bob", version=4)
    with pytest.raises(NotAllowed, match="only they or a coordinator"):
        RULES.release(held, ANNA, at(D(2027, 4, 20)))
    for worker in (BOB, CORA):
        released = RULES.release(held, worker, at(D(2027, 4, 20))).case
        assert (released.status, released.assignee, released.version) == (Status.REGISTERED, None, 5)
    with pytest.raises(Conflict, match="nobody holds"):
        RULES.release(complaint(), BOB, at(D(2027, 4, 20)))


def test_a_coordinator_of_another_department_does_not_oversee_this_one():
    other = Worker("olga", frozenset({"afval"}), Role.COORDINATOR)
    with pytest.raises(NotAllowed):
        RULES.release(complaint(status=Status.IN_PROGRESS, assignee="bob"), other, at(D(2027, 4, 20)))
    admin = Worker("root", frozenset(), Role.ADMIN)
    released = RULES.release(complaint(status=Status.IN_PROGRESS, assignee="bob"), admin, at(D(2027, 4, 20)))
    assert released.case.assignee is None


def test_a_transfer_clears_the_holder_and_puts_a_work_item_on_the_new_departments_queue():
    outcome = RULES.transfer(complaint(status=Status.IN_PROGRESS, assignee="anna", version=3), ANNA,
                             at(D(2027, 4, 20)), department="afval", reason="gaat over de container")
    case = outcome.case
    assert (case.department, case.assignee, case.status, case.version) == ("afval", None, Status.REGISTERED, 4)
    assert outcome.entry.reason == "klachten → afval: gaat over de container"
    (_, transferred, announced), (queue, item, queued) = events(outcome)
    assert transferred == "nl.loket.cases.case-transferred" and announced["id"] == "z-1:transferred:4"
    assert announced["data"]["from_department"] == "klachten" and announced["data"]["department"] == "afval"
    assert (queue, item, queued["id"]) == ("loket.backoffice.afval.v1", "nl.loket.cases.work-item", "z-1:queued:4")
    assert queued["data"]["why"] == "transferred"


@pytest.mark.parametrize(("to", "reason", "why"), [("nergens", "x", "no department"),
                                                   ("klachten", "x", "already"), ("afval", "  ", "empty")])
def test_a_transfer_names_a_known_other_department_and_a_reason(to, reason, why):
    with pytest.raises(Invalid, match=why):
        RULES.transfer(complaint(), ANNA, at(D(2027, 4, 20)), department=to, reason=reason)


def test_suspension_and_resumption_move_both_due_dates_past_koningsdag_and_the_alarms_with_them():
    # Suspended Thursday 22 April 2027 up to Thursday 29 April: seven days stood still, four of them working
    # days (22, 23, 26, 28; 27 is Koningsdag).
    suspended = RULES.suspend(complaint(), ANNA, at(D(2027, 4, 22)), reason="wacht op foto's van de melder")
    assert suspended.case.suspended_on == D(2027, 4, 22) and suspended.case.service_due == D(2027, 5, 4)
    assert suspended.alarms is None  # nothing moves while the clocks stand still
    assert events(suspended)[0][2]["data"]["suspended"] is True
    resumed = RULES.resume(suspended.case, ANNA, at(D(2027, 4, 29)))
    case = resumed.case
    assert (case.service_due, case.legal_due) == (D(2027, 5, 11), D(2027, 6, 7))  # past Ascension; 42 + 7 days
    assert (case.suspended_on, case.suspension_reason, case.suspended_working_days, case.legal_days) == (
        None, None, 4, 49)
    alarms = {(a.clock, a.level): a.due_on for a in resumed.alarms}
    assert alarms[("service", "breached")] == D(2027, 5, 11) and alarms[("legal", "breached")] == D(2027, 6, 7)
    [(_, kind, event)] = events(resumed)
    assert kind == "nl.loket.cases.case-resumed" and event["data"]["due_date"] == "2027-05-11"


def test_suspending_twice_or_resuming_a_running_case_is_a_conflict():
    with pytest.raises(Conflict, match="suspended already"):
        RULES.suspend(complaint(suspended_on=D(2027, 4, 21)), ANNA, at(D(2027, 4, 22)), reason="nog eens")
    with pytest.raises(Conflict, match="not suspended"):
        RULES.resume(complaint(), ANNA, at(D(2027, 4, 22)))


def test_the_legal_term_is_extended_once_by_at_most_four_weeks_and_only_it_moves():
    extended = RULES.extend(complaint(), ANNA, at(D(2027, 5, 20)), weeks=4, reason="advies klachtencommissie")
    case = extended.case
    assert (case.legal_due, case.service_due, case.extension_weeks) == (D(2027, 6, 28), D(2027, 5, 4), 4)
    assert {a.due_on for a in extended.alarms if (a.clock, a.level) == ("legal", "breached")} == {D(2027, 6, 28)}
    with pytest.raises(Conflict, match="once"):
        RULES.extend(case, ANNA, at(D(2027, 5, 21)), weeks=1, reason="nog een keer")
    with pytest.raises(Invalid, match="1 to 4 weeks, not 5"):
        RULES.extend(complaint(), ANNA, at(D(2027, 5, 20)), weeks=5, reason="te lang")
    with pytest.raises(Conflict, match="no longer"):
        RULES.extend(complaint(), ANNA, at(D(2027, 6, 1)), weeks=2, reason="te laat")


def test_resolving_announces_it_for_the_router_and_a_second_resolution_is_a_conflict():
    outcome = RULES.resolve(complaint(status=Status.IN_PROGRESS, assignee="anna"), ANNA, at(D(2027, 4, 23)),
                            resolution="De container wordt maandag vervangen.")
    case = outcome.case
    assert (case.status, case.resolution, case.resolved_at) == (Status.RESOLVED, "De container wordt maandag "
                                                                "vervangen.", at(D(2027, 4, 23)))
    [(_, kind, event)] = events(outcome)
    assert kind == "nl.loket.cases.case-resolved" and event["id"] == "z-1:resolved:2"
    assert event["data"]["party_pseudonym"] == "ab" * 32 and event["data"]["by"] == "anna"
    with pytest.raises(Conflict, match="resolved already, on 2027-04-23"):
        RULES.resolve(case, ANNA, at(D(2027, 4, 24)), resolution="nogmaals")
    for change in (lambda: RULES.claim(case, BOB, at(D(2027, 4, 24))),
                   lambda: RULES.suspend(case, ANNA, at(D(2027, 4, 24)), reason="x")):
        with pytest.raises(Conflict, match="resolved"):
            change()


def test_a_suspended_case_is_resumed_before_it_is_resolved():
    with pytest.raises(Conflict, match="resume it"):
        RULES.resolve(complaint(suspended_on=D(2027, 4, 21)), ANNA, at(D(2027, 4, 22)), resolution="klaar")


def test_a_worker_does_not_resolve_a_case_a_colleague_holds_but_a_coordinator_may():
    held = complaint(status=Status.IN_PROGRESS, assignee="bob")
    with pytest.raises(NotAllowed):
        RULES.resolve(held, ANNA, at(D(2027, 4, 22)), resolution="klaar")
    assert RULES.resolve(held, CORA, at(D(2027, 4, 22)), resolution="klaar").case.status is Status.RESOLVED


def test_a_note_is_history_only_and_a_blank_one_is_refused():
    outcome = RULES.note(complaint(status=Status.RESOLVED), BOB, at(D(2027, 4, 22)), text=" melder belde terug ")
    assert outcome.messages == () and outcome.case.version == 2 and outcome.case.status is Status.RESOLVED
    assert (outcome.entry.action, outcome.entry.reason, outcome.entry.by) == ("noted", "melder belde terug", "bob")
    with pytest.raises(Invalid, match="empty"):
        RULES.note(complaint(), BOB, at(D(2027, 4, 22)), text="   ")
