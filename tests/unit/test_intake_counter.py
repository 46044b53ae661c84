"""The generic counter format's reports (queue tickets, appointments) onto Loket's counter events."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plumbing.pseudonym import pseudonym
from schemas.counter import (AppointmentArrived, AppointmentBooked, AppointmentCalled, AppointmentServed,
                             TicketCalled, TicketIssued, TicketNoShow, TicketServed)
from services.intake.counter import CounterReport, contact_id, to_event
from tests.builders import NOW, SOURCE

SECRET = b"counter-test-secret"
AT, SLOT = "2026-12-02T10:12:00+01:00", "2026-12-02T10:10:00+01:00"


def report(type_: str, visit: dict, n: int = 0, **fields) -> CounterReport:
    return CounterReport.model_validate({"id": f"r-{type_}-{n}", "type": type_, "queue": "reisdocumenten", "at": AT,
                                         **visit, **fields})


TICKET, APPOINTMENT = {"ticket": "B-014"}, {"appointment": "afs-123"}


def test_a_walk_ins_reports_become_the_tickets_events():
    course = [report("issued", TICKET), report("called", TICKET, desk="3", wait=420),
              report("served", TICKET, service=300)]
    events = [to_event(r, secret=SECRET, source=SOURCE, now=NOW) for r in course]
    assert [type(e) for e in events] == [TicketIssued, TicketCalled, TicketServed]
    assert {e.data.contact_id for e in events} == {contact_id(course[0])}
    assert events[0].data.visit_reference == "B-014"
    assert (events[1].data.wait_seconds, events[1].data.desk, events[2].data.service_seconds) == (420, "3", 300)
    assert isinstance(to_event(report("no_show", TICKET), secret=SECRET, source=SOURCE, now=NOW), TicketNoShow)


def test_an_appointments_reports_become_its_events_and_who_booked_only_a_pseudonym():
    course = [report("booked", APPOINTMENT, slot=SLOT, party={"email": "j.jansen@example.nl"}),
              report("arrived", APPOINTMENT), report("called", APPOINTMENT, slot=SLOT, desk="5"),
              report("served", APPOINTMENT, service=600)]
    events = [to_event(r, secret=SECRET, source=SOURCE, now=NOW) for r in course]
    assert [type(e) for e in events] == [AppointmentBooked, AppointmentArrived, AppointmentCalled, AppointmentServed]
    booked = events[0].data
    assert booked.appointment_at.isoformat() == SLOT and booked.party.personal is None
    assert booked.party.pseudonym == pseudonym(SECRET, "email", "j.jansen@example.nl")
    assert b"jansen" not in events[0].to_bytes() and events[2].data.appointment_at.isoformat() == SLOT
    assert contact_id(course[0]) != contact_id(report("issued", TICKET))


@pytest.mark.parametrize(("type_", "visit", "fields", "wrong"), [
    ("issued", {}, {}, "give ticket or appointment"),
    ("issued", {**TICKET, **APPOINTMENT}, {}, "give ticket or appointment"),
    ("booked", TICKET, {"slot": SLOT}, "a ticket has no booked report"),
    ("no_show", APPOINTMENT, {}, "an appointment has no no_show report"),
    ("called", TICKET, {}, "needs wait"),
    ("called", APPOINTMENT, {}, "needs slot"),
    ("served", TICKET, {}, "needs service"),
    ("arrived", APPOINTMENT, {"party": {"email": "a@example.nl"}}, "party is given in the booked report only"),
    ("booked", APPOINTMENT, {"slot": 0}, "RFC 3339"),
], ids=["no visit", "two visits", "booked ticket", "appointment no-show", "ticket call", "appointment call",
        "served", "party later", "unix time"])
def test_an_incomplete_report_is_refused_with_the_reason(type_, visit, fields, wrong):
    with pytest.raises(ValidationError, match=wrong):
        report(type_, visit, **fields)


def test_a_ticket_number_is_one_visit_a_day_in_its_queue_an_appointment_one_visit_for_good():
    today, tomorrow = report("issued", TICKET), report("issued", TICKET, at="2026-12-03T09:00:00+01:00")
    other_queue = CounterReport.model_validate({**report("issued", TICKET).model_dump(), "queue": "rijbewijzen"})
    assert contact_id(today) == contact_id(report("called", TICKET, wait=60))
    assert len({contact_id(today), contact_id(tomorrow), contact_id(other_queue)}) == 3
    booked = report("booked", APPOINTMENT, slot=SLOT, at="2026-11-20T14:00:00+01:00")
    assert contact_id(booked) == contact_id(report("arrived", APPOINTMENT))  # booked days before the visit
