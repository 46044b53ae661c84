"""What the router takes from the contacts topic: questions, each validated; the other contact events it leaves,
with their validation, to the norms service (its consumer of them)."""

import json

import pytest

from plumbing.calendar import TermCalendar
from plumbing.changelog import PartitionedState
from plumbing.deadletters import Refused, event_type
from plumbing.kafka import CLOUDEVENT_HEADERS
from plumbing.settings import KafkaSettings
from schemas import QuestionAsked, QuestionData
from schemas.feedback import SatisfactionScored
from services.router.domain import Classifier
from services.router.kafka import OTHER_CONTACTS, RouterRecords
from tests.builders import NOW, SOURCE, event
from tests.fakes import record
from tests.org import TEST_ORGANISATION


def router() -> RouterRecords:
    state = PartitionedState("changelog")
    state.install({0: {}})
    return RouterRecords(KafkaSettings(), state, "closures", classifier=Classifier(TEST_ORGANISATION),
                         calendar=TermCalendar(), source=SOURCE)


def contact(value: bytes, key: bytes = b"c-1") -> object:
    return record(0, 0, key=key, value=value, topic="contacts", headers=CLOUDEVENT_HEADERS)


def score(**changes: object) -> bytes:
    scored = event(SatisfactionScored, "s-1", contact_id="c-1", channel="phone", score=8, scored_at=NOW,
                   response_reference="r-1")
    value = json.loads(scored.to_bytes())
    value["data"].update(changes)
    return json.dumps(value).encode()


def test_other_contact_events_are_left_alone_valid_or_not():
    assert "nl.loket.contacts.satisfaction-scored" in OTHER_CONTACTS
    assert router().question(contact(score())) == []
    assert router().question(contact(score(score=11))) == []  # the norms service refuses it, once


def test_a_question_is_validated_in_full():
    data = QuestionData(contact_id="c-1", channel="web", subject_code="paspoort-id", received_at=NOW)
    compact = QuestionAsked.create(source=SOURCE, data=data, subject="c-1", time=NOW).to_bytes()
    value = json.loads(compact)
    assert router().question(contact(compact))  # decided, its type found as the intake writes it
    assert router().question(contact(json.dumps(value).encode()))  # and as any other JSON writer may
    value["data"]["channel"] = "pigeon"
    with pytest.raises(Refused, match="channel"):
        router().question(contact(json.dumps(value).encode()))


@pytest.mark.parametrize("value", [b"not json", b'{"specversion": "1.0"}', b'{"type": 7}'])
def test_a_record_without_a_readable_type_is_refused_saying_what_it_lacks(value):
    assert event_type(contact(value)) is None
    with pytest.raises(Refused):
        router().question(contact(value))


def test_a_record_outside_the_structured_mode_has_no_type_to_read():
    assert event_type(record(0, 0, value=score(), headers=())) is None
    assert event_type(contact(score())) == "nl.loket.contacts.satisfaction-scored"
