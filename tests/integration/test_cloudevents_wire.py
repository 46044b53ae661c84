"""Every event type Loket publishes, read from the real broker and parsed by the official CloudEvents SDK's
Kafka binding (its own mode detection, then ``from_structured``), with the event validated against the
committed JSON Schema of its type. And what consumers refuse: no structured-mode header, a missing id."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import jsonschema
import pytest
from cloudevents.kafka import KafkaMessage, from_structured
from cloudevents.sdk.converters import is_binary, is_structured

from plumbing.kafka import group_id
from schemas import DeadLetter, QuestionAsked, QuestionData, RoutingDecided
from schemas.cases import DEADLINE_EVENTS
from schemas.export import JSON_DIR
from schemas.topics import ALL_TOPICS, CASE_EVENTS, CASE_REQUESTS, CONTACTS, DEAD_LETTERS, DECISIONS
from services.case.auth import mint_token
from services.case.commands import Role
from services.case.domain import work_queue
from tests.builders import ChannelSystemAuth, NOW, SOURCE
from tests.realstack import eventually, free_port, wait_healthy

pytestmark = pytest.mark.integration
REQUIRED = ("specversion", "id", "source", "type")
EVERY_TYPE = {event.event_type() for topic in ALL_TOPICS for event in topic.events}
DEADLINE_TYPES = {event.event_type() for event in DEADLINE_EVENTS.values()}


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


async def test_every_event_type_on_the_broker_is_a_structured_cloudevent_the_sdk_reads(service, topics, case_settings):
    intake, cases = free_port(), free_port()
    for name in ("router", "norms"):
        service(name)
    # Every deadline level at once (at a share of 0 of the term, on the day the case opens), looked for often.
    service("cases", LOKET_CASE_PORT=str(cases), LOKET_DEADLINE_INTERVAL_SECONDS="0.5",
            LOKET_DEADLINE_LEVELS=json.dumps({"warning": 0.0, "breached": 0.0, "escalated": 0.0}))
    service("intake", LOKET_INTAKE_PORT=str(intake))
    await wait_healthy(f"http://127.0.0.1:{intake}")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{intake}", auth=ChannelSystemAuth()) as client:
        for body in ({"channel": "phone", "text": "Ik wil een klacht indienen", "party": {"bsn": "111222333"}},
                     {"channel": "web", "text": "paspoort aanvragen"}):
            assert (await client.post("/v1/questions", json=body)).status_code == 202
        for report in _call_reports():
            assert (await client.post("/v1/call-reports", json=report)).status_code == 202
        for report in _counter_reports():
            assert (await client.post("/v1/counter-reports", json=report)).status_code == 202
        score = {"response_id": "w-6", "contact_id": "c-1", "channel": "phone", "score": 9}
        assert (await client.post("/v1/satisfaction-scores", json=score)).status_code == 202
        reply = {"id": "w-7", "contact_id": "c-2", "channel": "web"}
        assert (await client.post("/v1/first-replies", json=reply)).status_code == 202

    decisions = await topics.read(DECISIONS, until=lambda rs: len(rs) >= 2, timeout=90)
    complaint = next(d for d in (RoutingDecided.model_validate_json(r.value) for r in decisions) if d.data.case_id)
    # The watcher announces no level of a suspended or resolved case: the levels first, then the changes.
    await topics.read(CASE_EVENTS, until=lambda rs: _types(rs) >= set(DEADLINE_TYPES), timeout=60)
    await _through_every_change(f"http://127.0.0.1:{cases}", complaint.data.case_id, case_settings)
    await topics.produce(DECISIONS, b'{"specversion":"1.0"}', key=b"broken")  # the norms service parks it

    def every_case_event(records) -> bool:
        return _types(records) >= {e.event_type() for e in CASE_EVENTS.events}

    closures = group_id(topics.settings, "router").removeprefix(topics.settings.topic_prefix) + "-case-closures"
    published = {
        CONTACTS: await topics.read(CONTACTS,
                                    until=lambda rs: len(rs) >= 3 + len(_call_reports()) + len(_counter_reports())),
        DECISIONS: decisions,
        CASE_REQUESTS: await topics.read(CASE_REQUESTS, until=lambda rs: len(rs) >= 1),
        CASE_EVENTS: await topics.read(CASE_EVENTS, until=every_case_event, timeout=90),
        work_queue("klachten"): await topics.read(work_queue("klachten"), until=lambda rs: len(rs) >= 1),
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


async def _through_every_change(url: str, case_id: str, settings) -> None:
    """Take a complaint through every change the back office makes, each announced on the case events."""
    token = mint_token(settings, "wire-admin", [], Role.ADMIN)
    async with httpx.AsyncClient(base_url=f"{url}/v1", headers={"authorization": f"Bearer {token}"}) as office:
        case = await eventually(lambda: _case(office, case_id), timeout=60)
        etag = case.headers["etag"]
        for change, body in (("claims", None), ("releases", None), ("claims", None),
                             ("suspensions", {"reason": "wacht op stukken"}), ("resumptions", None),
                             ("extensions", {"weeks": 2, "reason": "advies van de commissie"}),
                             ("transfers", {"department": "burgerzaken", "reason": "hoort daar"}),
                             ("claims", None), ("resolutions", {"resolution": "Afgehandeld."})):
            answer = await office.post(f"/cases/{case_id}/{change}", json=body, headers={"if-match": etag})
            assert answer.status_code == 200, (change, answer.text)
            etag = answer.headers["etag"]


def _call_reports() -> list[dict]:
    """Two calls' course as a telephony platform reports it: one answered, put through and ended, one abandoned."""
    at = {"queue": "kcc-algemeen", "at": dt.datetime.now(dt.timezone.utc).isoformat()}  # within the intake's window
    return [{"id": "w-1", "type": "queued", "call": "c-1", "caller": "06 12345678", **at},
            {"id": "w-2", "type": "answered", "call": "c-1", "wait": 12.0, **at},
            {"id": "w-3", "type": "transferred", "call": "c-1", "target": {"queue": "kcc-vergunningen"}, **at},
            {"id": "w-4", "type": "ended", "call": "c-1", "talk": 180.0, **at},
            {"id": "w-5", "type": "abandoned", "call": "c-2", "wait": 40.0, **at}]


def _counter_reports() -> list[dict]:
    """A walk-in served, one who did not come when called, and an appointment from booking to service."""
    now = dt.datetime.now(dt.timezone.utc)
    at, slot = {"queue": "reisdocumenten", "at": now.isoformat()}, (now + dt.timedelta(minutes=5)).isoformat()
    return [{"id": "k-1", "type": "issued", "ticket": "B-1", **at},
            {"id": "k-2", "type": "called", "ticket": "B-1", "wait": 300.0, **at},
            {"id": "k-3", "type": "served", "ticket": "B-1", "service": 240.0, **at},
            {"id": "k-4", "type": "no_show", "ticket": "B-2", **at},
            {"id": "k-5", "type": "booked", "appointment": "a-1", "slot": slot, **at},
            {"id": "k-6", "type": "arrived", "appointment": "a-1", **at},
            {"id": "k-7", "type": "called", "appointment": "a-1", "slot": slot, **at},
            {"id": "k-8", "type": "served", "appointment": "a-1", "service": 600.0, **at}]


def _types(records) -> set[str]:
    return {json.loads(r.value)["type"] for r in records}


async def _case(office: httpx.AsyncClient, case_id: str) -> httpx.Response | None:
    answer = await office.get(f"/cases/{case_id}")
    return answer if answer.status_code == 200 else None


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
