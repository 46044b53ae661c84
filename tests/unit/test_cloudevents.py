"""CloudEvents 1.0 in the NL GOV profile: structured mode on Kafka, required attributes never invented."""

import base64
import datetime as dt
import json

import pytest
from aiokafka import ConsumerRecord  # the type of what consumers get

from plumbing.deadletters import Refused, decode_event, guarded
from plumbing.kafka import CLOUDEVENT_HEADERS, Record, event_record, send_all
from plumbing.settings import KafkaSettings
from schemas import DeadLetter, QuestionAsked, QuestionData, RoutingDecided
from schemas.envelope import SCHEMA_BASE_URI, CloudEvent
from schemas.export import event_json_schema
from schemas.topics import ALL_TOPICS
from services.case.kafka import OutboxPublisher
from plumbing.kafka import Outgoing
from tests.builders import NOW, PARTY, SOURCE, decision, open_case
from tests.fakes import FakeProducer, Journal, record

EVENTS = [event for topic in ALL_TOPICS for event in topic.events]


def wire_question() -> dict:
    data = QuestionData(contact_id="c-1", channel="web", text="Mijn kliko is kapot", received_at=NOW)
    return json.loads(QuestionAsked.create(source=SOURCE, data=data, subject="c-1", time=NOW).to_bytes())


def consumed(value: bytes, headers=CLOUDEVENT_HEADERS) -> ConsumerRecord:
    return record(0, 5, key=b"c-1", value=value, topic="contacts", headers=tuple(headers))


@pytest.mark.parametrize("attribute", ["id", "source", "type", "specversion"])
def test_an_event_missing_a_required_attribute_is_refused_not_completed(attribute):
    event = {k: v for k, v in wire_question().items() if k != attribute}
    with pytest.raises(Refused, match=f"^{attribute}: Field required"):
        decode_event(QuestionAsked, consumed(json.dumps(event).encode()))


def test_a_record_without_content_type_header_is_refused_as_not_structured_mode():
    with pytest.raises(Refused, match="no content-type header"):
        decode_event(QuestionAsked, consumed(json.dumps(wire_question()).encode(), headers=()))


@pytest.mark.parametrize("headers,reason", [
    ((("content-type", b"application/json"),), "not application/cloudevents\\+json"),
    ((("ce_specversion", b"1.0"), ("ce_id", b"x")), "binary-mode"),
    ((("content-type", b"application/json"), ("ce_specversion", b"1.0")), "binary-mode"),
])
def test_other_media_types_and_binary_mode_are_refused(headers, reason):
    with pytest.raises(Refused, match=reason):
        decode_event(QuestionAsked, consumed(json.dumps(wire_question()).encode(), headers=headers))


def test_the_content_type_header_is_read_case_insensitively_with_parameters():
    event = wire_question()
    record = consumed(json.dumps(event).encode(), headers=(("Content-Type", b"Application/CloudEvents+JSON;x=y"),))
    assert decode_event(QuestionAsked, record).id == event["id"]


def test_a_refused_record_becomes_a_structured_dead_letter_with_its_reason():
    def handle(record):
        decode_event(QuestionAsked, record)
        return []

    [parked] = guarded(handle, consumed(b"{}", headers=()), dead_letters="dl", source=SOURCE, consumer="router")
    assert parked.headers == CLOUDEVENT_HEADERS
    letter = DeadLetter.model_validate_json(parked.value)
    assert letter.data.reason.startswith("no content-type header") and letter.data.original_value() == b"{}"


def test_a_dead_letter_keeps_the_refused_records_headers_where_a_binary_event_keeps_its_attributes():
    headers = (("ce_specversion", b"1.0"), ("ce_id", b"q-1"), ("ce_type", b"x.y"), ("content-type", b"application/json"))
    [parked] = guarded(lambda r: decode_event(QuestionAsked, r), consumed(b"{}", headers=headers), dead_letters="dl",
                       source=SOURCE, consumer="router")
    letter = DeadLetter.model_validate_json(parked.value)
    assert letter.data.reason.startswith("binary-mode")
    assert [(h.name, base64.b64decode(h.value_base64)) for h in letter.data.headers] == list(headers)


def test_published_records_carry_the_structured_mode_header():
    record = event_record("t", "k", QuestionAsked.model_validate(wire_question()))
    assert dict(record.headers) == {"content-type": b"application/cloudevents+json; charset=UTF-8"}


async def test_the_producer_is_handed_each_records_headers_by_send_all_and_the_outbox_relay():
    producer = FakeProducer(Journal())
    await send_all(producer, [event_record("events", "e", b"{}"), Record("changelog", b"s", b"{}", 0)])
    await OutboxPublisher(producer, KafkaSettings(topic_prefix="p."))(
        [Outgoing("loket.case-events.v1", "case-1", b"{}", "nl.loket.case-events.case-opened")])
    assert producer.headers[("events", b"e")] == list(CLOUDEVENT_HEADERS)
    assert producer.headers[("changelog", b"s")] == []  # state, not an event
    assert producer.headers[("p.loket.case-events.v1", b"case-1")] == list(CLOUDEVENT_HEADERS)


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.__name__)
def test_every_event_type_has_a_plural_domain_and_points_at_its_published_schema(event):
    organisation, product, domain, name = event.event_type().split(".")
    assert (organisation, product) == ("nl", "loket") and domain.endswith("s") and name
    schema = event_json_schema(event)
    assert schema["$id"] == event.schema_uri() == f"{SCHEMA_BASE_URI}{event.event_type()}.json"
    assert {"specversion", "id", "source", "type"} <= set(schema["required"])


def test_producers_mint_ids_and_stamp_the_schema():
    event = QuestionAsked.model_validate(wire_question())
    assert event.id and event.dataschema == QuestionAsked.schema_uri() and event.specversion == "1.0"


WINTER = dt.timezone(dt.timedelta(hours=1))


@pytest.mark.parametrize("made, subject, time", [
    (decision(), "c-q-1", NOW),
    (decision("q-2", outcome="escalated", rule="escalation", case_id="k-1", department="burgerzaken",
              due_date=dt.date(2026, 12, 9), repeat_contact=True), None, NOW),
    (open_case(), "case-1", dt.datetime(2026, 11, 23, 10, 30, 0, 123456, tzinfo=WINTER)),
    (open_case("k-2", party=PARTY, legal_deadline=dt.date(2027, 1, 4), legal_basis="Awb 9:11"), 'k"2\\', NOW),
], ids=["decision", "escalation-without-subject", "case-request-in-winter-time", "case-request-odd-subject"])
def test_encoding_from_data_gives_the_bytes_of_the_event_it_would_make(made, subject, time):
    kind = type(made)
    event = kind.create(source=SOURCE, data=made.data, subject=subject, time=time, id=made.id)
    encoded = kind.encode(source=SOURCE, data=made.data, subject=subject, time=time, id=made.id)
    assert encoded == event.to_bytes()
    assert kind.model_validate_json(encoded) == event


def test_encoding_from_data_writes_every_attribute_of_the_envelope_but_the_sequence():
    encoded = json.loads(RoutingDecided.encode(source=SOURCE, data=decision().data, subject="s", time=NOW, id="i"))
    assert set(CloudEvent.model_fields) - set(encoded) == {"sequence"}
