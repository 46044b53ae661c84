"""The generic CTI format's reports onto Loket's call events, without a network."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from plumbing.calendar import TermCalendar
from plumbing.changelog import PartitionedState
from plumbing.kafka import CLOUDEVENT_HEADERS
from plumbing.pseudonym import pseudonym
from plumbing.settings import KafkaSettings
from schemas.calls import CallAbandoned, CallAnswered, CallEnded, CallOffered, CallTransferred
from services.intake.cti import CtiReport, contact_id, event_id, to_event
from services.intake.exceptions import InvalidIdentifier
from services.router.domain import Classifier
from services.router.kafka import RouterRecords
from tests.builders import NOW, SOURCE
from tests.fakes import record
from tests.org import TEST_ORGANISATION

SECRET = b"cti-test-secret"
AT = "2026-12-02T09:30:00+01:00"


def report(type_: str, **fields) -> CtiReport:
    return CtiReport.model_validate({"id": f"r-{type_}", "type": type_, "call": "call-7781", "queue": "kcc-algemeen",
                                     "at": AT, **fields})


def event(type_: str, **fields):
    return to_event(report(type_, **fields), secret=SECRET, source=SOURCE, now=NOW)


def test_each_report_becomes_its_call_event_with_the_calls_own_contact_id():
    course = [event("queued", caller="06 12345678"), event("answered", wait=18.5, agent="agent-12"),
              event("transferred", target={"organisation": "Belastingdienst"}),
              event("ended", talk=240, wrapup=30)]
    assert [type(e) for e in course] == [CallOffered, CallAnswered, CallTransferred, CallEnded]
    assert {e.data.contact_id for e in course} == {contact_id(report("queued"))}
    assert all(e.subject == e.data.contact_id and e.data.call_reference == "call-7781" for e in course)
    answered, transferred, ended = course[1].data, course[2].data, course[3].data
    assert (answered.wait_seconds, answered.agent) == (18.5, "agent-12")
    assert (transferred.to_organisation, transferred.to_queue) == ("Belastingdienst", None)
    assert (ended.talk_seconds, ended.wrap_up_seconds) == (240, 30)
    assert course[0].data.offered_at == dt.datetime.fromisoformat(AT)


def test_an_abandoned_call_carries_its_wait():
    abandoned = event("abandoned", wait=95)
    assert isinstance(abandoned, CallAbandoned) and abandoned.data.wait_seconds == 95


def test_the_callers_number_becomes_a_pseudonym_and_goes_no_further():
    offered = event("queued", caller="06 12345678")
    assert offered.data.party.pseudonym == pseudonym(SECRET, "phone", "+31612345678")
    assert offered.data.party.personal is None and b"12345678" not in offered.to_bytes()


def test_a_report_sent_again_is_the_same_event_and_another_report_another():
    assert event("answered", wait=1).id == event("answered", wait=1).id == event_id(report("answered", wait=1))
    assert event("ended", talk=1).id != event("answered", wait=1).id
    assert event("answered", wait=2).id != event("answered", wait=1).id  # corrected under its id: not a copy


@pytest.mark.parametrize(("type_", "fields", "wrong"), [
    ("answered", {}, "need wait"),
    ("abandoned", {}, "need wait"),
    ("transferred", {}, "need target"),
    ("ended", {}, "need talk"),
    ("answered", {"wait": 3, "caller": "0612345678"}, "caller is given in the queued report only"),
    ("transferred", {"target": {}}, "give queue or organisation"),
    ("transferred", {"target": {"queue": "a", "organisation": "b"}}, "give queue or organisation"),
    ("queued", {"at": "2026-12-02T09:30:00"}, "RFC 3339"),
    ("queued", {"at": 1700000000}, "RFC 3339"),
], ids=["answered", "abandoned", "transferred", "ended", "caller later", "no target", "two targets", "no offset",
        "unix time"])
def test_an_incomplete_report_is_refused_with_the_reason(type_, fields, wrong):
    with pytest.raises(ValidationError, match=wrong):
        report(type_, **fields)


def test_an_impossible_caller_number_is_refused_as_the_callers():
    with pytest.raises(InvalidIdentifier) as refused:
        event("queued", caller="+31 6 1")
    assert refused.value.field == "caller"


def test_the_router_routes_no_call_event_and_refuses_none():
    records = RouterRecords(KafkaSettings(), PartitionedState("changelog"), "closures",
                            classifier=Classifier(TEST_ORGANISATION), calendar=TermCalendar(), source=SOURCE)
    for n, call in enumerate([event("queued", caller="0612345678"), event("abandoned", wait=4)]):
        assert records.question(record(0, n, key=call.data.contact_id.encode(), value=call.to_bytes(),
                                       topic="contacts", headers=CLOUDEVENT_HEADERS)) == []
