"""Every event type Loket publishes, read from the real broker and parsed by the official CloudEvents SDK's
Kafka binding (its own mode detection, then ``from_structured``), with the event validated against the
committed JSON Schema of its type. And what consumers refuse: no structured-mode header, a missing id."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema
import pytest
from cloudevents.kafka import KafkaMessage, from_structured
from cloudevents.sdk.converters import is_binary, is_structured

from plumbing.kafka import group_id
from schemas import CaseResolved, CaseResolvedData, DeadLetter, QuestionAsked, QuestionData, RoutingDecided
from schemas.export import JSON_DIR
from schemas.topics import ALL_TOPICS, CASE_EVENTS, CASE_REQUESTS, CONTACTS, DEAD_LETTERS, DECISIONS
from tests.builders import NOW, SOURCE
from tests.realstack import eventually, free_port, wait_healthy

pytestmark = pytest.mark.integration
REQUIRED = ("specversion", "id", "source", "type")
EVERY_TYPE = {event.event_type() for topic in ALL_TOPICS for event in topic.events}


def _validator(event_type: str) -> jsonschema.Validator:
    schema = json.loads((JSON_DIR / f"{event_type}.json").read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def parse_with_sdk(record) -> dict:
    """The record as the SDK sees it: structured mode by the binding's own detection, then every attribute."""
    headers = {name: value for name, value in record.headers}
    text_headers = {name: value.decode() for name, value in headers.items()}
    assert is_structured(text_headers) and not is_binary(text_headers), f"not structured mode: {text_headers}"
    event = from_structured(KafkaMessage(headers=headers, key=record.key, value=record.value))
    for attribute in REQUIRED:
        assert event.get(attribute), f"{attribute} missing in {event}"
    return json.loads(record.value)  # the event as it is on the wire, for the JSON Schema


async def test_every_event_type_on_the_broker_is_a_structured_cloudevent_the_sdk_reads(service, topics):
    intake = free_port()
    for name in ("router", "cases", "norms"):
        service(name)
    service("intake", LOKET_INTAKE_PORT=str(intake))
    await wait_healthy(f"http://127.0.0.1:{intake}")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{intake}") as client:
        for body in ({"channel": "phone", "text": "Mijn kliko is kapot", "party": {"bsn": "111222333"}},
                     {"channel": "web", "text": "paspoort aanvragen"}):
            assert (await client.post("/v1/questions", json=body)).status_code == 202

    decisions = await topics.read(DECISIONS, until=lambda rs: len(rs) >= 2, timeout=90)
    escalated = next(d for d in (RoutingDecided.model_validate_json(r.value) for r in decisions) if d.data.case_id)
    # No service resolves cases yet: the test resolves one as the case service will, and the router
    # re-keys it onto its closures topic: that record is the router's.
    resolved = CaseResolved.create(source=SOURCE, subject=escalated.data.case_id, time=NOW, data=CaseResolvedData(
        case_id=escalated.data.case_id, subject_code=escalated.data.subject_code,
        department=escalated.data.department, party_pseudonym=escalated.data.party_pseudonym, resolved_at=NOW))
    await topics.produce(CASE_EVENTS, resolved.to_bytes(), key=escalated.data.case_id.encode())
    await topics.produce(DECISIONS, b'{"specversion":"1.0"}', key=b"broken")  # the norms service parks it

    closures = group_id(topics.settings, "router").removeprefix(topics.settings.topic_prefix) + "-case-closures"
    published = {
        CONTACTS: await topics.read(CONTACTS, until=lambda rs: len(rs) >= 2),
        DECISIONS: decisions,
        CASE_REQUESTS: await topics.read(CASE_REQUESTS, until=lambda rs: len(rs) >= 1),
        CASE_EVENTS: [r for r in await topics.read(CASE_EVENTS, until=lambda rs: len(rs) >= 2)
                      if r.value != resolved.to_bytes()],  # only the case service's own
        DEAD_LETTERS: await topics.read(DEAD_LETTERS, until=lambda rs: len(rs) >= 1, timeout=90),
        closures: await topics.read(closures, until=lambda rs: len(rs) >= 1),  # type: ignore[arg-type]
    }
    seen: set[str] = set()
    for topic, records in published.items():
        for record in records:
            event = parse_with_sdk(record)
            _validator(event["type"]).validate(event)
            assert event["dataschema"].endswith(f"/{event['type']}.json"), event["dataschema"]
            assert Path(event["dataschema"]).name in {p.name for p in JSON_DIR.glob("*.json")}
            seen.add(event["type"])
    assert seen == EVERY_TYPE, f"not seen on the broker: {EVERY_TYPE - seen}"


async def test_a_record_without_the_structured_mode_header_or_without_an_id_is_a_dead_letter(service, topics):
    service("router")
    data = QuestionData(contact_id="c-1", channel="web", text="Mijn kliko is kapot", received_at=NOW)
    event = json.loads(QuestionAsked.create(source=SOURCE, data=data, subject="c-1", time=NOW).to_bytes())
    without_id = {k: v for k, v in event.items() if k != "id"}
    await topics.produce(CONTACTS, json.dumps(event).encode(), key=b"c-no-header", headers=())
    await topics.produce(CONTACTS, json.dumps(without_id).encode(), key=b"c-no-id")

    letters = await topics.read(DEAD_LETTERS, until=lambda rs: len(rs) >= 2, timeout=90)
    reasons = {DeadLetter.model_validate_json(r.value).data.original_value(): DeadLetter.model_validate_json(r.value)
               .data.reason for r in letters}
    assert reasons[json.dumps(event).encode()].startswith("no content-type header: not a structured-mode CloudEvent")
    assert reasons[json.dumps(without_id).encode()] == "id: Field required"
    await eventually(lambda: topics.consumed_all("router", CONTACTS))  # both are behind the router now
    assert await topics.count(DECISIONS) == 0  # neither was routed, nor given an invented id
